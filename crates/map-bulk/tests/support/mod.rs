//! What more than one test file of map-bulk needs.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

/// A source whose lines change between the engine's two passes.
pub struct Changing {
    /// The lines the first pass reads.
    pub first: Vec<String>,
    /// The lines the second pass reads.
    pub second: Vec<String>,
}

impl map_bulk::OperationSource for Changing {
    fn operations(&mut self) -> Result<map_bulk::Operations<'_>, map_bulk::SourceError> {
        Ok(Box::new(
            self.second
                .iter()
                .map(|t| Ok(serde_json::from_str(t).unwrap())),
        ))
    }

    fn visit(
        &mut self,
        visitor: &mut map_bulk::OperationVisitor<'_>,
    ) -> Result<(), map_bulk::SourceError> {
        for text in &self.first {
            let op: map_bulk::OperationRef<'_> = serde_json::from_str(text).unwrap();
            visitor(Ok(map_bulk::OperationRef {
                text: Some(text),
                ..op
            }));
        }
        Ok(())
    }

    fn texts(&mut self) -> Option<Result<map_bulk::OperationTexts<'_>, map_bulk::SourceError>> {
        Some(Ok(Box::new(self.second.clone().into_iter().map(Ok))))
    }
}

/// The problems of a job refused as invalid, as (operation index, message); panics on any
/// other error.
pub fn problems(
    error: &map_bulk::JobInputError,
) -> (&map_bulk::ValidationError, Vec<(Option<u64>, &str)>) {
    let map_bulk::JobInputError::Invalid(invalid) = error else {
        panic!("{error:?}")
    };
    let listed = invalid
        .problems
        .iter()
        .map(|p| (p.index, p.message.as_str()))
        .collect();
    (invalid, listed)
}
