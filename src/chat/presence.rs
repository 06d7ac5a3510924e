//! Presence: who is online (on any instance) and when others were last seen.
//! Contacts (members of a shared conversation) hear when a user comes online
//! and when their last socket anywhere closes.
//!
//! Each instance claims the users it has sockets for (in Redis, with an
//! expiry it renews). Every announcement carries a version taken in the same
//! atomic step that decided it, and instances drop a presence event older
//! than one they delivered already: so when a device moves from instance A
//! to B, "offline" from A can never override B's newer "online", whatever
//! order the two arrive in. An instance that dies stops renewing; any live
//! instance's sweeper then announces its users offline.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::events::Push;
use super::hub::Hub;
use super::{ChatError, ChatService};
use crate::storage::entities::chat_presence;

/// Per-user locks, striped: presence decisions for one user on this instance
/// happen one at a time (claim/release in the order sockets come and go).
const STRIPES: usize = 64;

pub struct PresenceState {
    stripes: Vec<tokio::sync::Mutex<()>>,
    /// Users this instance has claimed (announced online).
    claimed: Mutex<HashSet<Uuid>>,
}

impl Default for PresenceState {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            claimed: Mutex::new(HashSet::new()),
        }
    }
}

impl PresenceState {
    fn stripe(&self, user: Uuid) -> &tokio::sync::Mutex<()> {
        &self.stripes[(user.as_u128() % STRIPES as u128) as usize]
    }

    fn is_claimed(&self, user: Uuid) -> bool {
        self.claimed.lock().expect("presence lock").contains(&user)
    }

    /// Users claimed by this instance who have no socket here any more.
    fn claimed_but_not(&self, hub: &Hub) -> Vec<Uuid> {
        let set = self.claimed.lock().expect("presence lock");
        set.iter().copied().filter(|u| !hub.is_here(*u)).collect()
    }

    fn set_claimed(&self, user: Uuid, claimed: bool) {
        let mut set = self.claimed.lock().expect("presence lock");
        if claimed {
            set.insert(user);
        } else {
            set.remove(&user);
        }
    }
}

impl ChatService {
    /// A socket of `user` joined: claims the user online (announcing it when
    /// this instance had not yet), and returns the contacts' presence for the
    /// new socket.
    pub async fn joined(&self, user: Uuid) -> Result<Vec<String>, ChatError> {
        self.sync_presence(user).await?;
        let contacts = self.contacts(user).await?;
        let online = self.fanout.online_among(&contacts).await;
        let offline: Vec<Uuid> = contacts
            .iter()
            .copied()
            .filter(|c| !online.contains(c))
            .collect();
        let seen: HashMap<Uuid, DateTime<Utc>> = chat_presence::Entity::find()
            .filter(chat_presence::Column::UserId.is_in(offline))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.user_id, p.last_seen_at))
            .collect();
        Ok(contacts
            .into_iter()
            .map(|contact| {
                let online = online.contains(&contact);
                Push::Presence {
                    user_id: contact,
                    online,
                    last_seen: if online {
                        None
                    } else {
                        seen.get(&contact).copied()
                    },
                    // A snapshot, not a change: versions order changes.
                    version: 0,
                }
                .to_frame()
            })
            .collect())
    }

    /// A socket of `user` left (it is out of the hub already).
    pub async fn left(&self, user: Uuid) -> Result<(), ChatError> {
        self.sync_presence(user).await
    }

    /// Brings this instance's claim on `user` in line with its sockets here:
    /// claims (and announces online) when it has one and no claim, releases
    /// when it has none and a claim (announcing offline when that was the
    /// last claim anywhere). One decision at a time per user.
    async fn sync_presence(&self, user: Uuid) -> Result<(), ChatError> {
        let _turn = self.presence.stripe(user).lock().await;
        let here = self.hub().is_here(user);
        if here == self.presence.is_claimed(user) {
            return Ok(());
        }
        self.presence.set_claimed(user, here);
        if here {
            // Unreachable Redis: stays marked claimed; the renewal finds the
            // claim missing and claims (and announces) again.
            if let Some(version) = self.fanout.claim(user).await {
                self.announce(user, true, None, version).await?;
            }
        } else {
            match self.fanout.release(user).await {
                Ok(Some(version)) => {
                    let now = Utc::now();
                    self.record_last_seen(user, now).await?;
                    self.announce(user, false, Some(now), version).await?;
                }
                Ok(None) => {}
                // Still claimed here: the next upkeep round releases it.
                Err(_) => self.presence.set_claimed(user, true),
            }
        }
        Ok(())
    }

    async fn announce(
        &self,
        user: Uuid,
        online: bool,
        last_seen: Option<DateTime<Utc>>,
        version: u64,
    ) -> Result<(), ChatError> {
        let contacts = self.contacts(user).await?;
        let frame = Push::Presence {
            user_id: user,
            online,
            last_seen,
            version,
        }
        .to_frame();
        self.fanout.publish_presence(contacts, frame, user, version);
        Ok(())
    }

    async fn record_last_seen(&self, user: Uuid, at: DateTime<Utc>) -> Result<(), ChatError> {
        chat_presence::Entity::insert(chat_presence::ActiveModel {
            user_id: Set(user),
            last_seen_at: Set(at),
        })
        .on_conflict(
            OnConflict::column(chat_presence::Column::UserId)
                .update_column(chat_presence::Column::LastSeenAt)
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    /// One round of claim upkeep: release the claims whose release failed,
    /// renew this instance's claims (claiming again any that were lost), then
    /// announce the users of instances that stopped renewing.
    async fn keep_claims_once(&self) {
        for unreleased in self.presence.claimed_but_not(self.hub()) {
            if let Err(e) = self.sync_presence(unreleased).await {
                tracing::warn!(error = %e, "presence: could not release");
            }
        }
        let here: Vec<Uuid> = self
            .hub()
            .users_here()
            .into_iter()
            .filter(|u| self.presence.is_claimed(*u))
            .collect();
        for lost in self.fanout.renew(&here).await {
            self.presence.set_claimed(lost, false);
            if let Err(e) = self.sync_presence(lost).await {
                tracing::warn!(error = %e, "presence: could not claim again");
            }
        }
        for gone in self.fanout.sweep().await {
            let announced = async {
                self.record_last_seen(gone.user, gone.last_seen).await?;
                self.announce(gone.user, false, Some(gone.last_seen), gone.version)
                    .await
            };
            if let Err(e) = announced.await {
                tracing::warn!(error = %e, "presence: could not announce an expired claim");
            }
        }
    }
}

/// Renews and sweeps every third of the claim lifetime until the service
/// stops (only with Redis: one process needs neither).
pub(super) fn keep_claims(chat: &Arc<ChatService>) {
    if chat.fanout.shared().is_none() {
        return;
    }
    let weak: Weak<ChatService> = Arc::downgrade(chat);
    let stop = chat.shutdown_token();
    let every = chat.fanout.claim_ttl() / 3;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let Some(chat) = weak.upgrade() else { return };
            chat.keep_claims_once().await;
        }
    });
}
