//! [`ResourceClient`]: Users, Groups and Services one at a time, `Existeppn` and `Self`, on
//! the same [`Pipeline`] and [`RetryStrategy`] as Bulk.
//!
//! Every call goes: build, sign and send ([`Pipeline::exchange`]), [`classify`], and on a
//! verdict that does not settle, ask the strategy — except that after a lost answer only a
//! GET, PUT or DELETE is sent again ([`may_resend_after_lost_answer`]).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::Method;
use map_auth::{Credentials, REQUEST_OBJECT_ROOM, Signer};
use map_entities::{
    ListResponse, MapError, MapGroup, MapService, MapUser, PatchOperation, PatchRequestPayload,
    SearchRequestParameter,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::classify::{Verdict, classify};
use crate::pipeline::{Answer, Call, CallBody, ExchangeError, Pipeline};
use crate::resource::{Deletable, Resource, ResourceAnswer, ResourceError};
use crate::retry::{Attempt, GiveUp, RetryDecision, RetryPolicy, RetryStrategy, StandardRetry};
use crate::search::Pages;

/// Which attributes of a resource to return (`attributes`, `excludedAttributes`).
///
/// ```
/// use map_client::Projection;
///
/// let only_names = Projection::only(["userName", "eduPersonPrincipalNames"]);
/// assert_eq!(only_names.attributes, ["userName", "eduPersonPrincipalNames"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// Only these attributes (and `id`); empty: all.
    pub attributes: Vec<String>,
    /// All attributes but these.
    pub excluded_attributes: Vec<String>,
}

impl Projection {
    /// Only `attributes` (and `id`).
    pub fn only<S: Into<String>>(attributes: impl IntoIterator<Item = S>) -> Self {
        Projection {
            attributes: attributes.into_iter().map(Into::into).collect(),
            excluded_attributes: Vec::new(),
        }
    }

    fn query(&self) -> String {
        let nonempty = |list: &Vec<String>| (!list.is_empty()).then(|| list.clone());
        SearchRequestParameter {
            attributes: nonempty(&self.attributes),
            excluded_attributes: nonempty(&self.excluded_attributes),
            ..Default::default()
        }
        .to_query_string()
    }
}

/// Reads and writes mAP Core's resources one at a time.
///
/// ```no_run
/// use std::sync::Arc;
/// use map_auth::Credentials;
/// use map_client::{Endpoint, Filter, Pipeline, ResourceAnswer, ResourceClient};
/// use map_entities::SearchRequestParameter;
/// use map_transport::{ReqwestTransport, TransportConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = Arc::new(ReqwestTransport::new(TransportConfig::default())?);
/// let pipeline = Pipeline::new(Endpoint::new("https://cg.gakunin.jp")?, transport);
/// let client = ResourceClient::new(pipeline, &Credentials::new("token", "secret"));
///
/// match client.exist_eppn("alice@example.ac.jp").await? {
///     ResourceAnswer::Done(user) => println!("alice is {:?}", user.id),
///     ResourceAnswer::NotFound(_) => println!("no such ePPN"),
///     other => println!("refused: {:?}", other.error()),
/// }
///
/// // Every member of a lab's groups, however many pages that takes.
/// let query = SearchRequestParameter {
///     filter: Some(Filter::sw("id", "jc_lab_").to_string()),
///     ..Default::default()
/// };
/// let mut pages = client.groups().search(query).prefetch(2);
/// while let Some(page) = pages.next_page().await {
///     for group in page?.resources() {
///         println!("{:?}: {} members", group.id, group.members.as_ref().map_or(0, Vec::len));
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ResourceClient {
    pipeline: Pipeline,
    signer: Signer,
    retry: Arc<dyn RetryStrategy>,
}

impl std::fmt::Debug for ResourceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceClient")
            .field("pipeline", &self.pipeline)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ResourceClient {
    /// A client on `pipeline` signing with `credentials`, retrying with a [`StandardRetry`]
    /// of the default [`RetryPolicy`] (and its budget, shared by every call of this client
    /// and its clones).
    pub fn new(pipeline: Pipeline, credentials: &Credentials) -> Self {
        ResourceClient {
            signer: pipeline.signer(credentials),
            pipeline,
            retry: Arc::new(StandardRetry::new(RetryPolicy::default())),
        }
    }

    /// The same client deciding retries with `strategy`.
    pub fn with_retry_strategy(mut self, strategy: Arc<dyn RetryStrategy>) -> Self {
        self.retry = strategy;
        self
    }

    /// The pipeline calls go through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The Users endpoint.
    pub fn users(&self) -> Resources<'_, MapUser> {
        self.resources()
    }

    /// The Groups endpoint.
    pub fn groups(&self) -> Resources<'_, MapGroup> {
        self.resources()
    }

    /// The Services endpoint.
    pub fn services(&self) -> Resources<'_, MapService> {
        self.resources()
    }

    /// The endpoint of resource kind `T`.
    pub fn resources<T: Resource>(&self) -> Resources<'_, T> {
        Resources {
            client: self,
            kind: PhantomData,
        }
    }

    /// `GET /api/v2/Existeppn/{eppn}`: the user holding `eppn`; not found (mAP's 400 `'X'
    /// Not Found`) when none does.
    pub async fn exist_eppn(&self, eppn: &str) -> Result<ResourceAnswer<MapUser>, ResourceError> {
        let url = self.url("Existeppn", Some(eppn), "")?;
        self.call(Method::GET, url, CallBody::Empty, decode).await
    }

    /// `GET /api/v2/Self`: the user the access token belongs to.
    pub async fn self_user(&self) -> Result<ResourceAnswer<MapUser>, ResourceError> {
        let url = self.url("Self", None, "")?;
        self.call(Method::GET, url, CallBody::Empty, decode).await
    }

    /// One page of `T` as `query` selects it.
    pub(crate) async fn page<T: Resource>(
        &self,
        query: &SearchRequestParameter,
    ) -> Result<ResourceAnswer<ListResponse<T>>, ResourceError> {
        let url = self.url(T::ENDPOINT, None, &query.to_query_string())?;
        self.call(Method::GET, url, CallBody::Empty, decode).await
    }

    /// `{base}/api/v2/{endpoint}[/{segment}][?{query}]`, the segment percent-encoded.
    fn url(
        &self,
        endpoint: &str,
        segment: Option<&str>,
        query: &str,
    ) -> Result<Url, ResourceError> {
        let mut url = self
            .pipeline
            .endpoint()
            .api_url(endpoint)
            .map_err(|e| ResourceError::Build(e.to_string()))?;
        if let Some(segment) = segment {
            if segment.is_empty() {
                return Err(ResourceError::Build(format!(
                    "an empty id or ePPN for {endpoint}"
                )));
            }
            url.path_segments_mut()
                .map_err(|()| ResourceError::Build("the base URL cannot take a path".into()))?
                .push(segment);
        }
        if !query.is_empty() {
            url.set_query(Some(query));
        }
        Ok(url)
    }

    /// Sends one call until it settles, and reads a 2xx body with `decode`.
    async fn call<T>(
        &self,
        method: Method,
        url: Url,
        body: CallBody,
        decode: impl Fn(&Bytes) -> Result<T, String>,
    ) -> Result<ResourceAnswer<T>, ResourceError> {
        Ok(self.send(method, url, body, decode).await?.answer)
    }

    /// Attempts `method url body` until an answer settles it or the strategy gives up. A
    /// 2xx whose body `decode` cannot read is an answer lost: sent again only when
    /// [`may_resend_after_lost_answer`].
    async fn send<T>(
        &self,
        method: Method,
        url: Url,
        body: CallBody,
        decode: impl Fn(&Bytes) -> Result<T, String>,
    ) -> Result<Settled<T>, ResourceError> {
        let started = Instant::now();
        let mut answer_lost_before = false;
        let mut number = 0;
        loop {
            number += 1;
            let call = Call {
                method: method.clone(),
                url: url.clone(),
                body: body.clone(),
            };
            let result = self.pipeline.exchange(call, &self.signer).await;
            let attempt = Attempt {
                number,
                elapsed: started.elapsed(),
            };
            let verdict = match (classify(&result), &result) {
                (Verdict::Processed, Ok(answer)) => match decode(&answer.body) {
                    Ok(value) => {
                        self.retry.settled(attempt);
                        return Ok(Settled {
                            answer: ResourceAnswer::Done(value),
                            answer_lost_before,
                        });
                    }
                    Err(message) => Verdict::MayHaveBeenApplied {
                        cause: format!(
                            "mAP Core answered {} with a body that cannot be read: {message}; it starts {:?}",
                            answer.status,
                            answer.excerpt()
                        ),
                    },
                },
                (verdict, _) => verdict,
            };
            match verdict {
                Verdict::Refused {
                    status: Some(status),
                    error,
                    detail,
                } => {
                    self.retry.settled(attempt);
                    return Ok(Settled {
                        answer: refusal(status, error, detail)?,
                        answer_lost_before,
                    });
                }
                Verdict::Refused { status: None, .. } => return Err(not_sent(result)),
                Verdict::CredentialsRefused { status, detail } => {
                    return Err(ResourceError::CredentialsRefused { status, detail });
                }
                Verdict::TooLarge { detail, .. } => {
                    return Err(ResourceError::Status {
                        status: 413,
                        detail,
                    });
                }
                Verdict::MayHaveBeenApplied { ref cause } => {
                    if !may_resend_after_lost_answer(&method) {
                        return Err(ResourceError::AnswerLost {
                            cause: cause.clone(),
                            may_have_been_applied: true,
                        });
                    }
                    answer_lost_before = true;
                }
                _ => {}
            }
            match self.retry.retry(&verdict, attempt) {
                RetryDecision::After(delay) => tokio::time::sleep(delay).await,
                RetryDecision::GiveUp(give_up) => return Err(gave_up(verdict, give_up, &method)),
            }
        }
    }
}

/// What settled a call, and whether an earlier attempt's answer was lost.
struct Settled<T> {
    answer: ResourceAnswer<T>,
    answer_lost_before: bool,
}

/// Whether a call whose answer was lost may be sent again: GET, PUT and DELETE do the same
/// thing however often they are applied; a POST could create twice and a PATCH `add` add
/// twice, so they never are.
pub fn may_resend_after_lost_answer(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::PUT | Method::DELETE)
}

/// The error of a call the strategy gave up on after `verdict`.
fn gave_up(verdict: Verdict, give_up: GiveUp, method: &Method) -> ResourceError {
    match verdict {
        Verdict::Unreachable { cause } => ResourceError::Unreachable { cause, give_up },
        Verdict::NotProcessed {
            cause, retry_after, ..
        } => ResourceError::Busy {
            cause,
            give_up,
            retry_after,
        },
        // The strategy retries only the verdicts above and a lost answer (and any it may
        // learn of later): what it gave up on is an answer that did not come.
        other => ResourceError::AnswerLost {
            cause: match other {
                Verdict::MayHaveBeenApplied { cause } => format!("{cause} ({give_up})"),
                other => format!("{other:?} ({give_up})"),
            },
            may_have_been_applied: method != Method::GET,
        },
    }
}

/// A refusal as a [`ResourceAnswer`]: 400, 404 and 409 with mAP's error document (one made
/// of the status and detail when the server sent none, except for a 404, which without one
/// is most likely a wrong base URL); any other status an error.
fn refusal<T>(
    status: u16,
    error: Option<MapError>,
    detail: String,
) -> Result<ResourceAnswer<T>, ResourceError> {
    let error = error.filter(|e| e.detail.is_some() || e.status.is_some());
    let document = |error: Option<MapError>| {
        error.unwrap_or_else(|| MapError {
            status: Some(status.to_string()),
            detail: Some(detail.clone()),
            ..Default::default()
        })
    };
    Ok(match (status, error) {
        (400, error) => {
            let error = document(error);
            if error.is_not_found() {
                ResourceAnswer::NotFound(error)
            } else {
                ResourceAnswer::Refused(error)
            }
        }
        (404, Some(error)) => ResourceAnswer::NotFound(error),
        (409, error) => ResourceAnswer::Conflict(document(error)),
        _ => return Err(ResourceError::Status { status, detail }),
    })
}

/// The error of an attempt that could not be signed or built (nothing was sent).
fn not_sent(result: Result<Answer, ExchangeError>) -> ResourceError {
    match result {
        Err(ExchangeError::Sign(error)) => ResourceError::Sign(error),
        Err(error) => ResourceError::Build(error.to_string()),
        Ok(answer) => ResourceError::Build(format!("unexpected answer {}", answer.status)),
    }
}

fn decode<T: DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// A JSON body with room for the signature before it.
fn json_body(document: &impl Serialize) -> Result<CallBody, ResourceError> {
    let mut buffer = vec![0; REQUEST_OBJECT_ROOM];
    serde_json::to_writer(&mut buffer, document)
        .map_err(|e| ResourceError::Build(format!("the document is not JSON: {e}")))?;
    Ok(CallBody::Json {
        buffer,
        room: REQUEST_OBJECT_ROOM,
    })
}

/// One endpoint (`Users`, `Groups`, `Services`) of a [`ResourceClient`].
#[derive(Debug)]
pub struct Resources<'c, T> {
    client: &'c ResourceClient,
    kind: PhantomData<fn() -> T>,
}

impl<T> Clone for Resources<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Resources<'_, T> {}

impl<T: Resource> Resources<'_, T> {
    /// `GET /api/v2/{kind}/{id}`.
    pub async fn get(&self, id: &str) -> Result<ResourceAnswer<T>, ResourceError> {
        self.get_with(id, &Projection::default()).await
    }

    /// `GET /api/v2/{kind}/{id}` with only the attributes `projection` selects.
    pub async fn get_with(
        &self,
        id: &str,
        projection: &Projection,
    ) -> Result<ResourceAnswer<T>, ResourceError> {
        let url = self
            .client
            .url(T::ENDPOINT, Some(id), &projection.query())?;
        self.client
            .call(Method::GET, url, CallBody::Empty, decode)
            .await
    }

    /// `POST /api/v2/{kind}`: creates `document`; the answer is the resource as created
    /// (with the id the server gave it). Never sent twice.
    pub async fn create(&self, document: &T) -> Result<ResourceAnswer<T>, ResourceError> {
        let url = self.client.url(T::ENDPOINT, None, "")?;
        self.client
            .call(Method::POST, url, json_body(document)?, decode)
            .await
    }

    /// `PUT /api/v2/{kind}/{id}`: replaces the resource with `document`.
    pub async fn replace(
        &self,
        id: &str,
        document: &T,
    ) -> Result<ResourceAnswer<T>, ResourceError> {
        let url = self.client.url(T::ENDPOINT, Some(id), "")?;
        self.client
            .call(Method::PUT, url, json_body(document)?, decode)
            .await
    }

    /// `PATCH /api/v2/{kind}/{id}` with a PatchOp document of `operations`; the resource as
    /// it is after them, or `None` when the server answered without a body. Never sent twice.
    pub async fn patch(
        &self,
        id: &str,
        operations: &[PatchOperation],
    ) -> Result<ResourceAnswer<Option<T>>, ResourceError> {
        let url = self.client.url(T::ENDPOINT, Some(id), "")?;
        let document = PatchRequestPayload::new(operations.to_vec());
        self.client
            .call(Method::PATCH, url, json_body(&document)?, |body| {
                if body.iter().all(u8::is_ascii_whitespace) {
                    Ok(None)
                } else {
                    decode(body).map(Some)
                }
            })
            .await
    }

    /// Every resource `query` selects, a page at a time as they are needed: see [`Pages`].
    pub fn search(&self, query: SearchRequestParameter) -> Pages<T> {
        Pages::new(self.client.clone(), query)
    }

    /// One page: `query` as given, in one request (retried as any GET).
    pub async fn page(
        &self,
        query: &SearchRequestParameter,
    ) -> Result<ResourceAnswer<ListResponse<T>>, ResourceError> {
        self.client.page(query).await
    }
}

impl<T: Deletable> Resources<'_, T> {
    /// `DELETE /api/v2/{kind}/{id}` (Groups and Services).
    pub async fn delete(&self, id: &str) -> Result<ResourceAnswer<()>, ResourceError> {
        let url = self.client.url(T::ENDPOINT, Some(id), "")?;
        let settled = self
            .client
            .send(Method::DELETE, url, CallBody::Empty, |_| Ok(()))
            .await?;
        match settled.answer {
            // Sent again after its answer was lost, it finds nothing: the first attempt
            // deleted it (or it was already gone); either way it is gone, as asked.
            ResourceAnswer::NotFound(_) if settled.answer_lost_before => {
                Ok(ResourceAnswer::Done(()))
            }
            answer => Ok(answer),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_what_does_the_same_twice_is_resent_after_a_lost_answer() {
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            assert!(may_resend_after_lost_answer(&method), "{method}");
        }
        for method in [Method::POST, Method::PATCH] {
            assert!(!may_resend_after_lost_answer(&method), "{method}");
        }
    }

    #[test]
    fn a_projection_is_its_query() {
        assert_eq!(Projection::default().query(), "");
        let projection = Projection {
            attributes: vec!["userName".into(), "emails".into()],
            excluded_attributes: vec!["groups".into()],
        };
        assert_eq!(
            projection.query(),
            "attributes=userName%2Cemails&excludedAttributes=groups"
        );
    }
}
