//! What the first pass keeps for later, held in memory while a job is small and written to
//! an anonymous temporary file past a bound, so that memory stays flat however large the job.
//!
//! Two shapes are needed:
//!
//! - [`Spool`]: one fixed-size record per operation (its encoded size, what the second pass
//!   needs of its text), written once in order and read back once in order.
//! - [`Definitions`]: the bulkId definitions, which must be checked against each other and
//!   against every reference. Past the bound they are split by the top bits of their hash into
//!   [`PARTITIONS`] spools, and read back one partition at a time: equal hashes always meet in
//!   the same partition, and partitions come back in ascending hash order.
//!
//! Every spool of a job appends chunks to one file ([`Scratch`]), created with
//! [`tempfile::tempfile`] when the first spool fills (no name; the system removes it when it
//! is closed, even if the process is killed). One file, not one per spool: creating a
//! temporary file costs about 0.2 ms of system time here.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};

use map_entities::ResourceKind;

/// Definitions kept in memory before they go to the temporary file (1 MiB).
pub(crate) const IN_MEMORY_RECORDS: usize = 1 << 16;

/// Bytes of records a [`Spool`] keeps in memory before it goes to the temporary file.
pub(crate) const IN_MEMORY_BYTES: usize = 256 * 1024;

/// The partitions spilled definitions are split into by the top bits of their hash; one of
/// them is read back at a time.
pub(crate) const PARTITIONS: usize = 64;
const PARTITION_BITS: u32 = PARTITIONS.trailing_zeros();

/// The largest [`Record::SIZE`].
const MAX_RECORD_SIZE: usize = 64;

/// A record of fixed size, as it is written to the temporary file.
pub(crate) trait Record: Sized {
    /// Its size in bytes, at most 64.
    const SIZE: usize;
    /// Writes it to `out` (`SIZE` bytes).
    fn encode(&self, out: &mut [u8]);
    /// Reads it from `bytes` (`SIZE` bytes).
    fn decode(bytes: &[u8]) -> Self;
}

impl Record for u32 {
    const SIZE: usize = 4;

    fn encode(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> Self {
        let mut word = [0; 4];
        word.copy_from_slice(bytes);
        u32::from_le_bytes(word)
    }
}

/// The temporary file the spools of one job share, created on first use. Each spool holds
/// its own handle to it and seeks before every read or write; spools are written during the
/// first pass and read after it, one at a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch(Arc<Mutex<Option<File>>>);

impl Scratch {
    /// A handle to the file, created if it is not yet.
    fn handle(&self) -> io::Result<File> {
        let mut file = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if file.is_none() {
            *file = Some(tempfile::tempfile()?);
        }
        match file.as_ref() {
            Some(file) => file.try_clone(),
            None => Err(io::Error::other("no temporary file")),
        }
    }
}

/// A spilled spool's part in the scratch file: whole records, in chunks.
#[derive(Debug)]
struct Chunks {
    file: File,
    /// Where each written chunk is (offset, length).
    written: Vec<(u64, usize)>,
    /// The chunk being filled.
    buffer: Vec<u8>,
    chunk_bytes: usize,
}

impl Chunks {
    #[inline]
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buffer.len() + bytes.len() > self.chunk_bytes {
            let offset = self.file.seek(SeekFrom::End(0))?;
            self.file.write_all(&self.buffer)?;
            self.written.push((offset, self.buffer.len()));
            self.buffer.clear();
        }
        self.buffer.extend_from_slice(bytes);
        Ok(())
    }
}

/// Records written once in order and read back once in order; past `bound` records they go
/// to the scratch file.
#[derive(Debug)]
pub(crate) struct Spool<T> {
    memory: Vec<T>,
    spilled: Option<Chunks>,
    len: u64,
    bound: usize,
    scratch: Scratch,
    /// Bytes per chunk once spilled.
    chunk_bytes: usize,
}

impl<T: Record> Spool<T> {
    /// A spool that keeps up to `bound` records in memory and then writes chunks of about
    /// `chunk_bytes` to `scratch`.
    pub(crate) fn new(scratch: &Scratch, bound: usize, chunk_bytes: usize) -> Self {
        Spool {
            memory: Vec::new(),
            spilled: None,
            len: 0,
            bound,
            scratch: scratch.clone(),
            chunk_bytes: chunk_bytes.max(T::SIZE),
        }
    }

    /// A spool that keeps up to [`IN_MEMORY_BYTES`] of records in memory, then writes 64 KiB
    /// chunks.
    pub(crate) fn in_memory_up_to_bound(scratch: &Scratch) -> Self {
        Spool::new(
            scratch,
            IN_MEMORY_BYTES / std::mem::size_of::<T>().max(1),
            64 * 1024,
        )
    }

    /// How many records were pushed.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Appends `record`.
    pub(crate) fn push(&mut self, record: T) -> io::Result<()> {
        self.len += 1;
        if let Some(chunks) = &mut self.spilled {
            return append_record(chunks, &record);
        }
        if self.memory.len() < self.bound {
            self.memory.push(record);
            return Ok(());
        }
        // Full: everything goes to the file from here on (the vector never grows past the
        // bound).
        let mut chunks = Chunks {
            file: self.scratch.handle()?,
            written: Vec::new(),
            buffer: Vec::with_capacity(self.chunk_bytes),
            chunk_bytes: self.chunk_bytes,
        };
        for record in std::mem::take(&mut self.memory) {
            append_record(&mut chunks, &record)?;
        }
        append_record(&mut chunks, &record)?;
        self.spilled = Some(chunks);
        Ok(())
    }

    /// The records, in the order they were pushed.
    pub(crate) fn into_reader(self) -> io::Result<SpoolReader<T>> {
        Ok(match self.spilled {
            None => SpoolReader::Memory(self.memory.into_iter()),
            Some(chunks) => SpoolReader::File {
                file: chunks.file,
                written: chunks.written.into_iter(),
                last: Some(chunks.buffer),
                current: Vec::new(),
                at: 0,
                record: PhantomData,
            },
        })
    }

    /// Every record, in memory.
    pub(crate) fn into_vec(self) -> io::Result<Vec<T>> {
        if self.spilled.is_none() {
            return Ok(self.memory);
        }
        let mut records = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        for record in self.into_reader()? {
            records.push(record?);
        }
        Ok(records)
    }
}

fn append_record<T: Record>(chunks: &mut Chunks, record: &T) -> io::Result<()> {
    // Encoded in place; `T::SIZE` is a constant here, so the room is made without a call.
    const ZEROS: [u8; MAX_RECORD_SIZE] = [0; MAX_RECORD_SIZE];
    chunks.append(&ZEROS[..T::SIZE])?;
    let end = chunks.buffer.len();
    record.encode(&mut chunks.buffer[end - T::SIZE..]);
    Ok(())
}

/// A [`Spool`]'s records, read back in order.
#[derive(Debug)]
pub(crate) enum SpoolReader<T> {
    /// They never left memory.
    Memory(std::vec::IntoIter<T>),
    /// They are read from the scratch file, a chunk at a time.
    File {
        file: File,
        written: std::vec::IntoIter<(u64, usize)>,
        /// The chunk that was still being filled, read after the written ones.
        last: Option<Vec<u8>>,
        current: Vec<u8>,
        at: usize,
        record: PhantomData<T>,
    },
}

impl<T: Record> Iterator for SpoolReader<T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        match self {
            SpoolReader::Memory(records) => records.next().map(Ok),
            SpoolReader::File {
                file,
                written,
                last,
                current,
                at,
                ..
            } => {
                while *at + T::SIZE > current.len() {
                    *at = 0;
                    match written.next() {
                        Some((offset, length)) => {
                            current.resize(length, 0);
                            let read = file
                                .seek(SeekFrom::Start(offset))
                                .and_then(|_| file.read_exact(current));
                            if let Err(error) = read {
                                current.clear();
                                return Some(Err(error));
                            }
                        }
                        None => *current = last.take()?,
                    }
                }
                let record = T::decode(&current[*at..*at + T::SIZE]);
                *at += T::SIZE;
                Some(Ok(record))
            }
        }
    }
}

/// A bulkId carried by an operation: where it is and what it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Definition {
    /// The bulkId's 64-bit hash.
    pub(crate) hash: u64,
    /// The operation's index (jobs of more than 4,294,967,295 operations are refused).
    pub(crate) index: u32,
    /// The kind of resource its path names, if the path is valid.
    pub(crate) kind: Option<ResourceKind>,
    /// Whether the operation is a POST (only a POST's bulkId can be referenced).
    pub(crate) is_post: bool,
}

impl Record for Definition {
    const SIZE: usize = 14;

    fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.hash.to_le_bytes());
        out[8..12].copy_from_slice(&self.index.to_le_bytes());
        out[12] = match self.kind {
            None => 0,
            Some(ResourceKind::User) => 1,
            Some(ResourceKind::Group) => 2,
            Some(ResourceKind::Service) => 3,
            Some(ResourceKind::Error) => 4,
        };
        out[13] = u8::from(self.is_post);
    }

    fn decode(bytes: &[u8]) -> Self {
        let mut hash = [0; 8];
        hash.copy_from_slice(&bytes[..8]);
        Definition {
            hash: u64::from_le_bytes(hash),
            index: u32::decode(&bytes[8..12]),
            kind: match bytes[12] {
                1 => Some(ResourceKind::User),
                2 => Some(ResourceKind::Group),
                3 => Some(ResourceKind::Service),
                4 => Some(ResourceKind::Error),
                _ => None,
            },
            is_post: bytes[13] != 0,
        }
    }
}

/// Every bulkId definition of a job, read back in groups that each hold every definition
/// of a range of hashes.
#[derive(Debug)]
pub(crate) struct Definitions {
    memory: Vec<Definition>,
    partitions: Vec<Spool<Definition>>,
    scratch: Scratch,
}

impl Definitions {
    /// No definitions yet; past [`IN_MEMORY_RECORDS`] they go to `scratch`.
    pub(crate) fn new(scratch: &Scratch) -> Self {
        Definitions {
            memory: Vec::new(),
            partitions: Vec::new(),
            scratch: scratch.clone(),
        }
    }

    /// Adds `definition`.
    pub(crate) fn push(&mut self, definition: Definition) -> io::Result<()> {
        if !self.partitions.is_empty() {
            return self.partitions[partition(definition.hash)].push(definition);
        }
        if self.memory.len() < IN_MEMORY_RECORDS {
            self.memory.push(definition);
            return Ok(());
        }
        // Full: split what is kept, and this one, into the partitions' files.
        // 16 KiB chunks: 1 MiB of buffers for the 64 partitions (4 KiB made four times the
        // write calls, each costing more than the copy).
        self.partitions = (0..PARTITIONS)
            .map(|_| Spool::new(&self.scratch, 0, 16 * 1024))
            .collect();
        for definition in std::mem::take(&mut self.memory)
            .into_iter()
            .chain([definition])
        {
            self.partitions[partition(definition.hash)].push(definition)?;
        }
        Ok(())
    }

    /// The definitions in groups, in ascending order of the hash ranges they cover; each group
    /// holds every definition whose hash is in its range, sorted by hash and then index.
    pub(crate) fn into_groups(
        self,
    ) -> impl Iterator<Item = io::Result<(RangeInclusive<u64>, Vec<Definition>)>> {
        let memory = (self.partitions.is_empty())
            .then(|| Ok((0..=u64::MAX, sort_by_hash(self.memory, 0..=u64::MAX))));
        let spilled = self
            .partitions
            .into_iter()
            .enumerate()
            .map(|(number, spool)| {
                let first = (number as u64) << (64 - PARTITION_BITS);
                let last = first | (u64::MAX >> PARTITION_BITS);
                spool
                    .into_vec()
                    .map(|group| (first..=last, sort_by_hash(group, first..=last)))
            });
        memory.into_iter().chain(spilled)
    }
}

/// `definitions` (whose hashes all lie in `range`) sorted by hash and then index.
///
/// Hashes are uniform, so one counting pass on the bits that vary within `range` puts each
/// definition into a bucket of about one, and each bucket is then sorted on its own: linear
/// time in the usual case.
fn sort_by_hash(definitions: Vec<Definition>, range: RangeInclusive<u64>) -> Vec<Definition> {
    let key = |d: &Definition| (d.hash, d.index);
    let count = definitions.len();
    if count < 64 {
        let mut definitions = definitions;
        definitions.sort_unstable_by_key(key);
        return definitions;
    }
    // Bits above `fixed` are the same for every hash in the range.
    let fixed = (range.start() ^ range.end()).leading_zeros().min(63);
    let bits = count.next_power_of_two().trailing_zeros().clamp(1, 20);
    let bucket = |hash: u64| ((hash << fixed) >> (64 - bits)) as usize;
    let mut starts = vec![0usize; (1 << bits) + 1];
    for definition in &definitions {
        starts[bucket(definition.hash) + 1] += 1;
    }
    for at in 1..starts.len() {
        starts[at] += starts[at - 1];
    }
    let placeholder = Definition {
        hash: 0,
        index: 0,
        kind: None,
        is_post: false,
    };
    let mut sorted = vec![placeholder; count];
    let mut next = starts.clone();
    for definition in definitions {
        let slot = &mut next[bucket(definition.hash)];
        sorted[*slot] = definition;
        *slot += 1;
    }
    // Buckets are in hash order; order each one (a comparison sort for the rare large one,
    // so that hashes crafted to share their top bits cannot make this quadratic).
    for bounds in starts.windows(2) {
        let bucket = &mut sorted[bounds[0]..bounds[1]];
        if bucket.len() > 16 {
            bucket.sort_unstable_by_key(key);
            continue;
        }
        for at in 1..bucket.len() {
            let mut to = at;
            while to > 0 && key(&bucket[to - 1]) > key(&bucket[to]) {
                bucket.swap(to - 1, to);
                to -= 1;
            }
        }
    }
    sorted
}

fn partition(hash: u64) -> usize {
    (hash >> (64 - PARTITION_BITS)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spools_sharing_a_file_read_back_what_was_pushed() {
        for bound in [0, 3, 1000] {
            for chunk_bytes in [4, 12, 4096] {
                let scratch = Scratch::default();
                let mut first = Spool::new(&scratch, bound, chunk_bytes);
                let mut second = Spool::new(&scratch, bound, chunk_bytes);
                // Interleaved, as the first pass pushes sizes and text facts.
                for value in 0..100u32 {
                    first.push(value.wrapping_mul(2_654_435_761)).unwrap();
                    second.push(value).unwrap();
                }
                assert_eq!(first.len(), 100);
                assert_eq!(first.spilled.is_some(), bound < 100, "bound {bound}");
                let read: Vec<u32> = first.into_reader().unwrap().map(Result::unwrap).collect();
                let expected: Vec<u32> =
                    (0..100u32).map(|v| v.wrapping_mul(2_654_435_761)).collect();
                assert_eq!(read, expected, "bound {bound}, chunks of {chunk_bytes}");
                let read: Vec<u32> = second.into_vec().unwrap();
                assert_eq!(read, (0..100).collect::<Vec<u32>>());
            }
        }
    }

    #[test]
    fn spilled_definitions_come_back_whole_and_grouped_by_ascending_hash_range() {
        let kinds = [
            None,
            Some(ResourceKind::User),
            Some(ResourceKind::Group),
            Some(ResourceKind::Service),
            Some(ResourceKind::Error),
        ];
        let count = IN_MEMORY_RECORDS as u32 + 1000;
        let definition = |index: u32| Definition {
            hash: u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            index,
            kind: kinds[index as usize % kinds.len()],
            is_post: !index.is_multiple_of(3),
        };
        let mut definitions = Definitions::new(&Scratch::default());
        for index in 0..count {
            definitions.push(definition(index)).unwrap();
        }
        assert_eq!(definitions.partitions.len(), PARTITIONS);
        let mut seen = Vec::new();
        let mut previous_end: Option<u64> = None;
        for group in definitions.into_groups() {
            let (range, group) = group.unwrap();
            assert_eq!(previous_end.map_or(0, |end| end + 1), *range.start());
            previous_end = Some(*range.end());
            assert!(group.iter().all(|d| range.contains(&d.hash)));
            assert!(group.is_sorted_by_key(|d| (d.hash, d.index)));
            seen.extend(group);
        }
        assert_eq!(previous_end, Some(u64::MAX));
        seen.sort_by_key(|d| d.index);
        assert_eq!(seen, (0..count).map(definition).collect::<Vec<_>>());
    }

    #[test]
    fn definitions_within_the_bound_stay_in_one_group_in_memory() {
        let mut definitions = Definitions::new(&Scratch::default());
        let one = Definition {
            hash: 7,
            index: 0,
            kind: Some(ResourceKind::User),
            is_post: true,
        };
        definitions.push(one).unwrap();
        assert!(definitions.partitions.is_empty());
        let groups: Vec<_> = definitions.into_groups().map(Result::unwrap).collect();
        assert_eq!(groups, [(0..=u64::MAX, vec![one])]);
    }

    #[test]
    fn sorting_by_hash_agrees_with_a_comparison_sort() {
        // Uniform hashes, clustered ones, and many equal ones (duplicated bulkIds).
        let shapes: [fn(u32) -> u64; 4] = [
            |i| u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            |i| u64::from(i % 7) << 60 | u64::from(i),
            |i| u64::from(i % 5).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            |i| u64::MAX - u64::from(i),
        ];
        for (shape, hash) in shapes.into_iter().enumerate() {
            for count in [0u32, 1, 63, 64, 65, 1000, 5000] {
                for partitioned in [false, true] {
                    let (range, definitions): (RangeInclusive<u64>, Vec<Definition>) = {
                        let all = (0..count).rev().map(|index| Definition {
                            hash: hash(index),
                            index,
                            kind: None,
                            is_post: index % 2 == 0,
                        });
                        if partitioned {
                            // The partition of the first definition, with only its members.
                            let first = if count == 0 { 0 } else { hash(0) };
                            let number = partition(first) as u64;
                            let start = number << (64 - PARTITION_BITS);
                            let end = start | (u64::MAX >> PARTITION_BITS);
                            (
                                start..=end,
                                all.filter(|d| (start..=end).contains(&d.hash)).collect(),
                            )
                        } else {
                            (0..=u64::MAX, all.collect())
                        }
                    };
                    let mut expected = definitions.clone();
                    expected.sort_by_key(|d| (d.hash, d.index));
                    assert_eq!(
                        sort_by_hash(definitions, range),
                        expected,
                        "shape {shape}, {count} definitions, partitioned {partitioned}"
                    );
                }
            }
        }
    }
}
