//! [`Names`]: users and regions, each stored once however many grafts name it.

use std::sync::Arc;

use rustc_hash::FxHashSet;

/// Which field a name fills. Consecutive grafts mostly share a user and a region, so the
/// last name given for each field is checked before the set.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Field {
    User = 0,
    Region = 1,
}

/// The shared copies of every user and region name seen.
#[derive(Clone, Debug, Default)]
pub(crate) struct Names {
    set: FxHashSet<Arc<str>>,
    last: [Option<Arc<str>>; 2],
}

impl Names {
    /// The shared copy of `name`.
    pub fn intern(&mut self, field: Field, name: &str) -> Arc<str> {
        let last = &mut self.last[field as usize];
        if let Some(shared) = last.as_ref().filter(|shared| ***shared == *name) {
            return shared.clone();
        }
        let shared = match self.set.get(name) {
            Some(shared) => shared.clone(),
            None => {
                let shared: Arc<str> = name.into();
                self.set.insert(shared.clone());
                shared
            }
        };
        *last = Some(shared.clone());
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_stored_once_whichever_field_names_it() {
        let mut names = Names::default();
        let alice = names.intern(Field::User, "alice");
        let region = names.intern(Field::Region, "eu-west-1");
        let bob = names.intern(Field::User, "bob");
        let alice_again = names.intern(Field::User, "alice");
        let alice_as_region = names.intern(Field::Region, "alice");
        assert!(Arc::ptr_eq(&alice, &alice_again));
        assert!(Arc::ptr_eq(&alice, &alice_as_region));
        assert!(!Arc::ptr_eq(&alice, &bob));
        assert_eq!((&*region, &*bob), ("eu-west-1", "bob"));
        assert_eq!(names.set.len(), 3);
    }
}
