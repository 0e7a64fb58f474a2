//! [`Sibling`]: one graft among those after the same anchor, and their order.

use std::cmp::Ordering;

use rustc_hash::FxHashMap;

use crate::id::NodeId;
use crate::view::model::Graft;

/// A graft in its anchor's list of children: its lamport and id. The rest of its
/// [`SortKey`](crate::view::SortKey), region and user, is looked up only when two lamports
/// tie, which concurrent grafts alone do: a full read makes one of these per graft, and
/// copying the shared names into each would cost two atomic counts per graft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sibling {
    pub lamport: u64,
    pub id: NodeId,
}

impl Sibling {
    pub fn of(graft: &Graft) -> Self {
        Self {
            lamport: graft.lamport,
            id: graft.id.clone(),
        }
    }
}

/// The [`SortKey`](crate::view::SortKey) order, (lamport, region, user, id), with region
/// and user read from `grafts`. A sibling missing from `grafts` (never the case in a
/// consistent index) sorts before the others of its lamport, so the order stays total.
pub(crate) fn order(grafts: &FxHashMap<NodeId, Graft>, a: &Sibling, b: &Sibling) -> Ordering {
    let names = |s: &Sibling| grafts.get(&s.id).map(|g| (&*g.region, &*g.by));
    a.lamport
        .cmp(&b.lamport)
        .then_with(|| {
            if a.id == b.id {
                Ordering::Equal
            } else {
                names(a).cmp(&names(b))
            }
        })
        .then_with(|| a.id.cmp(&b.id))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn graft(id: &str, lamport: u64, region: &str, user: &str) -> Graft {
        Graft {
            id: id.parse().unwrap(),
            after: "step1".parse().unwrap(),
            agent_name: "A".into(),
            by: Arc::from(user),
            region: Arc::from(region),
            lamport,
            at: 0,
            retracted: None,
        }
    }

    #[test]
    fn orders_siblings_exactly_as_their_sort_keys() {
        let all = [
            graft("g1", 2, "us", "bob"),
            graft("g2", 1, "us", "zed"),
            graft("g3", 2, "eu", "zed"),
            graft("g4", 2, "us", "amy"),
            graft("g0", 2, "us", "amy"),
            graft("g5", 1, "ap", "zed"),
        ];
        let grafts: FxHashMap<NodeId, Graft> =
            all.iter().map(|g| (g.id.clone(), g.clone())).collect();
        let mut siblings: Vec<Sibling> = all.iter().map(Sibling::of).collect();
        siblings.sort_unstable_by(|a, b| order(&grafts, a, b));
        let mut keys: Vec<_> = all.iter().map(Graft::sort_key).collect();
        keys.sort();
        let by_key: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        let by_sibling: Vec<&str> = siblings.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(by_sibling, by_key);
        assert_eq!(by_sibling, ["g5", "g2", "g3", "g0", "g4", "g1"]);
    }

    #[test]
    fn a_sibling_missing_from_the_grafts_sorts_first_of_its_lamport() {
        let kept = graft("g1", 3, "us", "amy");
        let grafts: FxHashMap<NodeId, Graft> =
            [(kept.id.clone(), kept.clone())].into_iter().collect();
        let lost = Sibling {
            lamport: 3,
            id: "g9".parse().unwrap(),
        };
        assert_eq!(order(&grafts, &lost, &Sibling::of(&kept)), Ordering::Less);
        assert_eq!(
            order(&grafts, &Sibling::of(&kept), &lost),
            Ordering::Greater
        );
        assert_eq!(order(&grafts, &lost, &lost), Ordering::Equal);
    }
}
