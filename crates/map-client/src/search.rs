//! [`Pages`]: the resources a search selects, a page at a time as they are needed, until
//! `totalResults` — so that no caller stops at the server's default page of 20.

use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{FuturesOrdered, Stream, StreamExt};
use map_entities::{ListResponse, SearchRequestParameter};

use crate::resource::{Resource, ResourceAnswer, ResourceError};
use crate::resource_client::ResourceClient;

type PageResult<T> = Result<ResourceAnswer<ListResponse<T>>, ResourceError>;
type PageFuture<T> = Pin<Box<dyn Future<Output = (u64, PageResult<T>)> + Send>>;

/// Every resource a search selects, fetched a page at a time.
///
/// Each page starts after the resources the previous one actually returned (a server may
/// return fewer than asked), and the last is the one that reaches `totalResults` (or
/// returns nothing). With [`Pages::prefetch`], once the first page has told the total and
/// the page size, the next few pages are requested at once and handed out in order; a page
/// that returns fewer than its size makes the ones requested after it start in the wrong
/// place, so they are dropped and requested again from where the results really continue.
///
/// The query's `count` is the page size (not sent unless given: the server's default, 20 on
/// mAP Core) and its `startIndex` where to start.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use map_client::ResourceClient;
/// use map_entities::SearchRequestParameter;
///
/// # async fn run(client: ResourceClient) -> Result<(), map_client::ResourceError> {
/// let query = SearchRequestParameter { count: Some(1000), ..Default::default() };
/// let mut users = std::pin::pin!(client.users().search(query).prefetch(2).into_stream());
/// while let Some(user) = users.next().await {
///     println!("{:?}", user?.user_name);
/// }
/// # Ok(())
/// # }
/// ```
pub struct Pages<T> {
    client: ResourceClient,
    query: SearchRequestParameter,
    /// The 1-based index of the next resource to hand out.
    next_start: u64,
    /// Where the page after the last one requested starts.
    requested_up_to: u64,
    /// The page size: the `count` asked, or what the first page returned.
    page_size: Option<u64>,
    total: Option<u64>,
    prefetch: usize,
    ahead: FuturesOrdered<PageFuture<T>>,
    returned: u64,
    finished: bool,
}

impl<T> std::fmt::Debug for Pages<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("query", &self.query)
            .field("next_start", &self.next_start)
            .field("total", &self.total)
            .field("in_flight", &self.ahead.len())
            .finish_non_exhaustive()
    }
}

impl<T: Resource> Pages<T> {
    /// The most pages requested ahead: a few keep the server busy; more only load it.
    pub const MAX_PREFETCH: usize = 16;

    pub(crate) fn new(client: ResourceClient, query: SearchRequestParameter) -> Self {
        let start = query.start_index.unwrap_or(1).max(1);
        Pages {
            client,
            page_size: query.count.filter(|&count| count > 0),
            query,
            next_start: start,
            requested_up_to: start,
            total: None,
            prefetch: 0,
            ahead: FuturesOrdered::new(),
            returned: 0,
            finished: false,
        }
    }

    /// The same search requesting up to `pages` pages ahead of the one being read, once the
    /// total is known (0, the default: one page at a time; at most [`Pages::MAX_PREFETCH`]).
    pub fn prefetch(mut self, pages: usize) -> Self {
        self.prefetch = pages.min(Self::MAX_PREFETCH);
        self
    }

    /// `totalResults` as the last page said, once a page has come.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// How many resources the pages handed out so far held.
    pub fn returned(&self) -> u64 {
        self.returned
    }

    /// The next page; `None` after the last one, or after an error.
    pub async fn next_page(&mut self) -> Option<Result<ListResponse<T>, ResourceError>> {
        while !self.finished {
            self.request_ahead();
            let Some((start, result)) = self.ahead.next().await else {
                break;
            };
            if start != self.next_start {
                continue;
            }
            return Some(match result.and_then(ResourceAnswer::into_result) {
                Ok(page) => Ok(self.accept(page)),
                Err(error) => {
                    self.finish();
                    Err(error)
                }
            });
        }
        self.finish();
        None
    }

    /// Every resource, one at a time, fetching pages as they are needed; an error ends it.
    pub fn into_stream(self) -> impl Stream<Item = Result<T, ResourceError>> + Send {
        futures_util::stream::unfold(
            (self, Vec::new().into_iter()),
            |(mut pages, mut current)| async move {
                loop {
                    if let Some(resource) = current.next() {
                        return Some((Ok(resource), (pages, current)));
                    }
                    match pages.next_page().await? {
                        Ok(page) => current = page.resources.unwrap_or_default().into_iter(),
                        Err(error) => return Some((Err(error), (pages, current))),
                    }
                }
            },
        )
    }

    /// Takes in the page that starts at `next_start`.
    fn accept(&mut self, page: ListResponse<T>) -> ListResponse<T> {
        let returned = page.resources().len() as u64;
        // Saturating: a start or a count given as u64::MAX is no overflow.
        let assumed_next = self
            .next_start
            .saturating_add(self.page_size.unwrap_or(returned));
        self.next_start = self.next_start.saturating_add(returned);
        self.returned = self.returned.saturating_add(returned);
        self.total = Some(page.total_results);
        if self.page_size.is_none() && returned > 0 {
            self.page_size = Some(returned);
        }
        if returned == 0 || self.next_start > page.total_results || self.next_start == u64::MAX {
            self.finish();
        } else if self.next_start != assumed_next {
            // Not the page size asked for (a server may cap it): pages requested after this
            // one start in the wrong place, and the next ones are of the size it returned.
            self.page_size = Some(returned);
            self.ahead = FuturesOrdered::new();
        }
        page
    }

    /// Requests the page at `next_start`, and with a known total and page size up to
    /// `prefetch` more.
    fn request_ahead(&mut self) {
        if self.ahead.is_empty() {
            self.requested_up_to = self.next_start;
        }
        let wanted = match (self.total, self.page_size) {
            (Some(_), Some(_)) => self.prefetch.saturating_add(1),
            _ => 1,
        };
        while self.ahead.len() < wanted
            && self.total.is_none_or(|total| self.requested_up_to <= total)
        {
            let start = self.requested_up_to;
            self.ahead.push_back(self.fetch(start));
            self.requested_up_to = start.saturating_add(self.page_size.unwrap_or(0));
            if self.requested_up_to == start {
                // No page size yet (or the end of the numbers): one page at a time.
                break;
            }
        }
    }

    fn fetch(&self, start: u64) -> PageFuture<T> {
        let client = self.client.clone();
        let query = SearchRequestParameter {
            start_index: (start != 1 || self.query.start_index.is_some()).then_some(start),
            ..self.query.clone()
        };
        Box::pin(async move { (start, client.page::<T>(&query).await) })
    }

    fn finish(&mut self) {
        self.finished = true;
        self.ahead = FuturesOrdered::new();
    }
}
