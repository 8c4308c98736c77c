//! Who is on the other end of the socket: the peer's uid (SO_PEERCRED,
//! set by the kernel, not by the client) → OS user name → `[roles]` (G12).
//! `$USER` and `$BOTE_ACTOR` grant nothing: a client could set them to anything.

use crate::config::{Role, RolesConfig};

/// A connected client, as the kernel vouches for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Peer uid.
    pub uid: u32,
    /// OS user name (or `uid:N` when the system has no name for it).
    pub user: String,
    /// The role `[roles]` gives that user.
    pub role: Option<Role>,
}

impl Caller {
    /// The caller with uid `uid`, its name looked up in `/etc/passwd`,
    /// under `roles` — or, without a `[roles]` section, admin if it owns
    /// the store (`owner`) and nothing otherwise.
    pub fn from_uid(uid: u32, roles: Option<&RolesConfig>, owner: u32) -> Self {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        Self::resolve(uid, user_name(&passwd, uid), roles, owner)
    }

    /// [`Caller::from_uid`] with the name known.
    pub fn resolve(uid: u32, user: String, roles: Option<&RolesConfig>, owner: u32) -> Self {
        let role = match roles {
            Some(r) => r.role_of(&user),
            None => (uid == owner).then_some(Role::Admin),
        };
        Self { uid, user, role }
    }

    /// The caller `user` (uid `uid`) under `roles`.
    pub fn named(uid: u32, user: String, roles: &RolesConfig) -> Self {
        Self::resolve(uid, user, Some(roles), u32::MAX)
    }

    /// Refuses unless the caller has at least `needed`; the message names
    /// the role needed and the user's.
    pub fn require(&self, needed: Role, what: &str) -> Result<(), String> {
        match self.role {
            Some(r) if r >= needed => Ok(()),
            r => Err(format!(
                "{what} needs the {needed} role; user {:?} (uid {}) is {} (see [roles] in bote.toml)",
                self.user,
                self.uid,
                r.map_or("not listed".to_string(), |r| r.to_string())
            )),
        }
    }
}

/// This process's uid: the owner of `/proc/self` (std has no `getuid`,
/// and the crate forbids `unsafe`).
pub fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

/// The name `passwd` (the text of `/etc/passwd`) gives `uid`, else `uid:N`.
pub fn user_name(passwd: &str, uid: u32) -> String {
    passwd
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let _password = f.next()?;
            let id: u32 = f.next()?.parse().ok()?;
            (id == uid && !name.is_empty()).then(|| name.to_string())
        })
        .unwrap_or_else(|| format!("uid:{uid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n# comment\nbob:x:1001:1001::/home/bob:/bin/sh\nmallory:x:1002:1002::/home/m:/bin/sh\n";

    fn roles() -> RolesConfig {
        RolesConfig {
            admin: vec!["alice".into()],
            operator: vec!["bob".into()],
            viewer: vec![],
        }
    }

    #[test]
    fn uid_maps_to_the_passwd_name_and_unknown_uids_to_a_number() {
        assert_eq!(user_name(PASSWD, 0), "root");
        assert_eq!(user_name(PASSWD, 1001), "bob");
        assert_eq!(user_name(PASSWD, 4242), "uid:4242");
        assert_eq!(user_name("garbage\n::x:\n", 0), "uid:0");
    }

    #[test]
    fn roles_come_from_the_peer_name_not_from_the_environment() {
        // uid 1002 is mallory, who has no role, whatever her environment says.
        let mallory = Caller::named(1002, user_name(PASSWD, 1002), &roles());
        assert_eq!(mallory.role, None);
        let e = mallory
            .require(Role::Operator, "importing consents")
            .expect_err("refused");
        assert!(e.contains("needs the operator role"), "{e}");
        assert!(e.contains("\"mallory\""), "{e}");
        let bob = Caller::named(1001, user_name(PASSWD, 1001), &roles());
        assert!(bob.require(Role::Operator, "sending").is_ok());
        assert!(bob.require(Role::Admin, "shutting down").is_err());
    }

    #[test]
    fn without_roles_only_the_store_owner_acts() {
        let owner = Caller::resolve(1001, "bob".into(), None, 1001);
        assert_eq!(owner.role, Some(Role::Admin));
        let other = Caller::resolve(1002, "mallory".into(), None, 1001);
        assert_eq!(other.role, None);
        let e = other.require(Role::Viewer, "looking").expect_err("refused");
        assert!(e.contains("not listed"), "{e}");
    }
}
