//! [`Reader`]: reads a document as it is now ([`Now`]) or as it was at some heads
//! ([`At`]), so the view is read from the past the same way as from the present. A
//! trait, not a switch: builds that never read the past (the web app) never link
//! Automerge's readers at heads.

use automerge::iter::{Keys, ListRange, MapRange};
use automerge::{AutoCommit, AutomergeError, ChangeHash, ObjId, Prop, ReadDoc, Value};

/// Reads one document at one point.
pub(crate) trait Reader<'a>: Copy {
    fn get(
        &self,
        obj: &ObjId,
        prop: impl Into<Prop>,
    ) -> Result<Option<(Value<'a>, ObjId)>, AutomergeError>;
    fn get_all(
        &self,
        obj: &ObjId,
        prop: impl Into<Prop>,
    ) -> Result<Vec<(Value<'a>, ObjId)>, AutomergeError>;
    fn map_range(&self, obj: &ObjId) -> MapRange<'a>;
    fn list_range(&self, obj: &ObjId) -> ListRange<'a>;
    fn keys(&self, obj: &ObjId) -> Keys<'a>;
    fn length(&self, obj: &ObjId) -> usize;
}

/// The document as it is.
#[derive(Clone, Copy)]
pub(crate) struct Now<'a>(pub &'a AutoCommit);

/// The document as it was at `heads` (which it must have).
#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    pub doc: &'a AutoCommit,
    pub heads: &'a [ChangeHash],
}

impl<'a> Reader<'a> for Now<'a> {
    fn get(
        &self,
        obj: &ObjId,
        prop: impl Into<Prop>,
    ) -> Result<Option<(Value<'a>, ObjId)>, AutomergeError> {
        self.0.get(obj, prop)
    }

    fn get_all(
        &self,
        obj: &ObjId,
        prop: impl Into<Prop>,
    ) -> Result<Vec<(Value<'a>, ObjId)>, AutomergeError> {
        self.0.get_all(obj, prop)
    }

    fn map_range(&self, obj: &ObjId) -> MapRange<'a> {
        self.0.map_range(obj, ..)
    }

    fn list_range(&self, obj: &ObjId) -> ListRange<'a> {
        self.0.list_range(obj, ..)
    }

    fn keys(&self, obj: &ObjId) -> Keys<'a> {
        self.0.keys(obj)
    }

    fn length(&self, obj: &ObjId) -> usize {
        self.0.length(obj)
    }
}

impl<'a> Reader<'a> for At<'a> {
    fn get(
        &self,
        obj: &ObjId,
        prop: impl Into<Prop>,
    ) -> Result<Option<(Value<'a>, ObjId)>, AutomergeError> {
        self.doc.get_at(obj, prop, self.heads)
    }

    fn get_all(
        &self,
        obj: &ObjId,
        prop: impl Into<Prop>,
    ) -> Result<Vec<(Value<'a>, ObjId)>, AutomergeError> {
        self.doc.get_all_at(obj, prop, self.heads)
    }

    fn map_range(&self, obj: &ObjId) -> MapRange<'a> {
        self.doc.map_range_at(obj, .., self.heads)
    }

    fn list_range(&self, obj: &ObjId) -> ListRange<'a> {
        self.doc.list_range_at(obj, .., self.heads)
    }

    fn keys(&self, obj: &ObjId) -> Keys<'a> {
        self.doc.keys_at(obj, self.heads)
    }

    fn length(&self, obj: &ObjId) -> usize {
        self.doc.length_at(obj, self.heads)
    }
}
