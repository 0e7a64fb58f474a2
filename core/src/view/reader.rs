//! [`Reader`]: reads a document as it is now or as it was at some heads, so the view is
//! read from the past the same way it is read from the present.

use automerge::iter::{Keys, ListRange, MapRange};
use automerge::{AutoCommit, AutomergeError, ChangeHash, ObjId, Prop, ReadDoc, Value};

/// A document, now or at `heads`.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    doc: &'a AutoCommit,
    at: Option<&'a [ChangeHash]>,
}

impl<'a> Reader<'a> {
    /// The document as it is.
    pub fn now(doc: &'a AutoCommit) -> Self {
        Self { doc, at: None }
    }

    /// The document as it was at `heads` (which it must have).
    pub fn at(doc: &'a AutoCommit, heads: &'a [ChangeHash]) -> Self {
        Self {
            doc,
            at: Some(heads),
        }
    }

    pub fn get(
        &self,
        obj: &ObjId,
        prop: impl Into<Prop>,
    ) -> Result<Option<(Value<'a>, ObjId)>, AutomergeError> {
        match self.at {
            None => self.doc.get(obj, prop),
            Some(heads) => self.doc.get_at(obj, prop, heads),
        }
    }

    pub fn get_all(
        &self,
        obj: &ObjId,
        prop: impl Into<Prop>,
    ) -> Result<Vec<(Value<'a>, ObjId)>, AutomergeError> {
        match self.at {
            None => self.doc.get_all(obj, prop),
            Some(heads) => self.doc.get_all_at(obj, prop, heads),
        }
    }

    pub fn map_range(&self, obj: &ObjId) -> MapRange<'a> {
        match self.at {
            None => self.doc.map_range(obj, ..),
            Some(heads) => self.doc.map_range_at(obj, .., heads),
        }
    }

    pub fn list_range(&self, obj: &ObjId) -> ListRange<'a> {
        match self.at {
            None => self.doc.list_range(obj, ..),
            Some(heads) => self.doc.list_range_at(obj, .., heads),
        }
    }

    pub fn keys(&self, obj: &ObjId) -> Keys<'a> {
        match self.at {
            None => self.doc.keys(obj),
            Some(heads) => self.doc.keys_at(obj, heads),
        }
    }

    pub fn length(&self, obj: &ObjId) -> usize {
        match self.at {
            None => self.doc.length(obj),
            Some(heads) => self.doc.length_at(obj, heads),
        }
    }
}
