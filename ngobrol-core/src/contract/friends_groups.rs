//! The contract of the friend and group repositories.

use std::sync::Arc;

use super::{Repositories, group_name, millis_ago, new_user, user};
use crate::error::PortError;
use crate::types::GroupId;

/// A friendship holds both ways, is refused again from either side, and
/// friends are listed sorted by name.
pub async fn friendship_is_mutual_and_unique<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi", "cici", "dodi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    s.add_friendship(&user("ana"), &user("cici")).await.unwrap();
    s.add_friendship(&user("budi"), &user("ana")).await.unwrap();
    assert!(s.are_friends(&user("cici"), &user("ana")).await.unwrap());
    assert!(s.are_friends(&user("ana"), &user("budi")).await.unwrap());
    assert!(!s.are_friends(&user("ana"), &user("dodi")).await.unwrap());
    assert_eq!(
        s.add_friendship(&user("cici"), &user("ana")).await,
        Err(PortError::Conflict)
    );
    assert_eq!(
        s.friends_of(&user("ana")).await.unwrap(),
        vec![user("budi"), user("cici")]
    );
    assert_eq!(
        s.friends_of(&user("cici")).await.unwrap(),
        vec![user("ana")]
    );
    // Ended from either side, both ways at once, and made again.
    assert!(
        s.remove_friendship(&user("cici"), &user("ana"))
            .await
            .unwrap()
    );
    assert!(!s.are_friends(&user("ana"), &user("cici")).await.unwrap());
    assert!(!s.are_friends(&user("cici"), &user("ana")).await.unwrap());
    assert!(
        !s.remove_friendship(&user("ana"), &user("cici"))
            .await
            .unwrap()
    );
    assert!(s.are_friends(&user("ana"), &user("budi")).await.unwrap());
    s.add_friendship(&user("ana"), &user("cici")).await.unwrap();
    assert!(s.are_friends(&user("cici"), &user("ana")).await.unwrap());
}

/// A block is one way, noted once, listed by name, and lifted.
pub async fn blocks_are_one_way_and_lifted<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi", "cici"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    assert!(s.block(&user("ana"), &user("cici")).await.unwrap());
    assert!(!s.block(&user("ana"), &user("cici")).await.unwrap());
    assert!(s.block(&user("ana"), &user("budi")).await.unwrap());
    assert!(s.blocks(&user("ana"), &user("cici")).await.unwrap());
    assert!(!s.blocks(&user("cici"), &user("ana")).await.unwrap());
    assert_eq!(
        s.blocked_by(&user("ana")).await.unwrap(),
        vec![user("budi"), user("cici")]
    );
    assert!(s.unblock(&user("ana"), &user("cici")).await.unwrap());
    assert!(!s.unblock(&user("ana"), &user("cici")).await.unwrap());
    assert_eq!(
        s.blocked_by(&user("ana")).await.unwrap(),
        vec![user("budi")]
    );
    assert!(s.blocked_by(&user("cici")).await.unwrap().is_empty());
}

/// New groups get growing ids and their admin as first member; an unknown
/// id finds nothing; a user's groups come by id.
pub async fn groups_start_with_their_admin_as_member<S: Repositories>(s: Arc<S>) {
    s.insert_user(&new_user("ana")).await.unwrap();
    let name = group_name("Keluarga");
    let first = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    let second = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    assert!(second.id > first.id, "ids grow: {first:?} then {second:?}");
    assert_eq!(first.admin, user("ana"));
    assert_eq!(s.find_group(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(s.find_group(GroupId::new(-1)).await.unwrap(), None);
    assert!(s.is_member(first.id, &user("ana")).await.unwrap());
    assert_eq!(
        s.groups_of(&user("ana")).await.unwrap(),
        vec![first, second]
    );
}

/// A member is added once (again is a conflict), counted, and removed
/// once; the admin may leave and stays the group's admin.
pub async fn memberships_are_unique_and_removable<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let g = s
        .create_group(&group_name("g"), &user("ana"), millis_ago(0))
        .await
        .unwrap();
    s.add_member(g.id, &user("budi")).await.unwrap();
    assert_eq!(
        s.add_member(g.id, &user("budi")).await,
        Err(PortError::Conflict)
    );
    assert!(s.is_member(g.id, &user("budi")).await.unwrap());
    assert_eq!(s.count_members(g.id).await.unwrap(), 2);
    assert_eq!(s.count_groups_of(&user("budi")).await.unwrap(), 1);
    assert!(s.remove_member(g.id, &user("budi")).await.unwrap());
    assert!(!s.remove_member(g.id, &user("budi")).await.unwrap());
    assert!(!s.is_member(g.id, &user("budi")).await.unwrap());
    assert_eq!(s.groups_of(&user("budi")).await.unwrap(), vec![]);
    // The admin may leave; the group and its admin stay.
    assert!(s.remove_member(g.id, &user("ana")).await.unwrap());
    assert_eq!(
        s.find_group(g.id).await.unwrap().unwrap().admin,
        user("ana")
    );
}

/// Every group comes with its members sorted by name, an emptied group
/// included.
pub async fn all_memberships_lists_every_group<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi", "cici"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let name = group_name("g");
    let g1 = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    let g2 = s
        .create_group(&name, &user("budi"), millis_ago(0))
        .await
        .unwrap();
    s.add_member(g1.id, &user("cici")).await.unwrap();
    s.remove_member(g2.id, &user("budi")).await.unwrap();
    assert_eq!(
        s.all_memberships().await.unwrap(),
        vec![(g1.id, vec![user("ana"), user("cici")]), (g2.id, vec![])]
    );
}

/// A deleted group is gone with its memberships, from every look-up;
/// deleting it again, or a group that never was, says so; other groups
/// stay; the id of a deleted group is not given again.
pub async fn deleting_a_group_removes_it_and_its_memberships<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let name = group_name("g");
    let kept = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    let doomed = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    s.add_member(doomed.id, &user("budi")).await.unwrap();

    assert!(s.delete_group(doomed.id).await.unwrap());
    assert_eq!(s.find_group(doomed.id).await.unwrap(), None);
    for member in ["ana", "budi"] {
        assert!(!s.is_member(doomed.id, &user(member)).await.unwrap());
    }
    assert_eq!(s.count_members(doomed.id).await.unwrap(), 0);
    assert_eq!(s.groups_of(&user("ana")).await.unwrap(), vec![kept.clone()]);
    assert_eq!(s.groups_of(&user("budi")).await.unwrap(), vec![]);
    assert_eq!(s.count_groups_of(&user("budi")).await.unwrap(), 0);
    assert_eq!(
        s.all_memberships().await.unwrap(),
        vec![(kept.id, vec![user("ana")])]
    );

    assert!(!s.delete_group(doomed.id).await.unwrap());
    assert!(!s.delete_group(GroupId::new(-1)).await.unwrap());
    // A deleted group's id stays its own, even when it was the newest.
    let next = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    assert!(next.id > doomed.id, "{next:?} after {doomed:?}");
    // Deleting the last group leaves nothing to restore.
    assert!(s.delete_group(kept.id).await.unwrap());
    assert!(s.delete_group(next.id).await.unwrap());
    assert_eq!(s.all_memberships().await.unwrap(), vec![]);
}

/// The groups a user administers are counted whether or not the user is
/// still a member, and no longer once deleted; other users' are not.
pub async fn groups_administered_are_counted_while_they_exist<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    assert_eq!(s.count_groups_administered(&user("ana")).await.unwrap(), 0);
    let name = group_name("g");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let g = s
            .create_group(&name, &user("ana"), millis_ago(0))
            .await
            .unwrap();
        ids.push(g.id);
    }
    let budis = s
        .create_group(&name, &user("budi"), millis_ago(0))
        .await
        .unwrap();
    // A member of budi's group administers it no more than before.
    s.add_member(budis.id, &user("ana")).await.unwrap();
    assert_eq!(s.count_groups_administered(&user("ana")).await.unwrap(), 3);
    assert_eq!(s.count_groups_administered(&user("budi")).await.unwrap(), 1);
    // An admin who left still administers the group.
    s.add_member(ids[0], &user("budi")).await.unwrap();
    assert!(s.remove_member(ids[0], &user("ana")).await.unwrap());
    assert_eq!(s.count_groups_administered(&user("ana")).await.unwrap(), 3);
    assert!(s.delete_group(ids[1]).await.unwrap());
    assert_eq!(s.count_groups_administered(&user("ana")).await.unwrap(), 2);
    // Names are case-sensitive here too.
    assert_eq!(s.count_groups_administered(&user("ANA")).await.unwrap(), 0);
}

/// A group name with quotes, SQL, backslashes and non-ASCII text comes
/// back exactly, and harms nothing.
pub async fn hostile_text_round_trips_exactly<S: Repositories>(s: Arc<S>) {
    s.insert_user(&new_user("ana")).await.unwrap();
    let hostile = "'); DROP TABLE users; -- \"quoted\" \\ 🙂 ümlaut 日本";
    let g = s
        .create_group(&group_name(hostile), &user("ana"), millis_ago(0))
        .await
        .unwrap();
    let found = s.find_group(g.id).await.unwrap().unwrap();
    assert_eq!(found.name.as_str(), hostile);
    assert!(s.find_user(&user("ana")).await.unwrap().is_some());
}

/// Friend requests and group invitations are kept once each until
/// removed, listed oldest first, and go with their group.
pub async fn requests_and_invitations_wait_until_answered<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi", "cici"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let (ana, budi, cici) = (user("ana"), user("budi"), user("cici"));
    let asked = millis_ago(3);
    assert!(s.add_friend_request(&ana, &budi, asked).await.unwrap());
    assert!(
        !s.add_friend_request(&ana, &budi, millis_ago(2))
            .await
            .unwrap()
    );
    assert!(
        s.add_friend_request(&cici, &ana, millis_ago(1))
            .await
            .unwrap()
    );
    let of_ana = s.friend_requests_of(&ana).await.unwrap();
    let pairs: Vec<(String, String)> = of_ana
        .iter()
        .map(|r| (r.from.to_string(), r.to.to_string()))
        .collect();
    assert_eq!(
        pairs,
        [("ana".into(), "budi".into()), ("cici".into(), "ana".into())]
    );
    assert_eq!(of_ana[0].at, asked, "the first ask's time is kept");
    assert!(s.remove_friend_request(&ana, &budi).await.unwrap());
    assert!(!s.remove_friend_request(&ana, &budi).await.unwrap());
    assert_eq!(s.friend_requests_of(&budi).await.unwrap(), []);

    let group = s
        .create_group(&group_name("Keluarga"), &ana, millis_ago(5))
        .await
        .unwrap()
        .id;
    let at = millis_ago(4);
    assert!(s.add_invitation(group, &budi, &ana, at).await.unwrap());
    assert!(!s.add_invitation(group, &budi, &ana, at).await.unwrap());
    let invitations = s.invitations_of(&budi).await.unwrap();
    assert_eq!(invitations.len(), 1);
    assert_eq!(
        (invitations[0].group, &invitations[0].by, invitations[0].at),
        (group, &ana, at)
    );
    assert_eq!(
        s.remove_invitation(group, &budi).await.unwrap(),
        Some(ana.clone())
    );
    assert_eq!(s.remove_invitation(group, &budi).await.unwrap(), None);
    s.add_invitation(group, &cici, &ana, at).await.unwrap();
    s.delete_group(group).await.unwrap();
    assert_eq!(s.invitations_of(&cici).await.unwrap(), []);
}
