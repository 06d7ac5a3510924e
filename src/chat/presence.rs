//! Presence: who is online (on any instance) and when others were last seen.
//! Contacts (members of a shared conversation) hear when a user's first
//! socket connects and when their last one closes.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::events::Push;
use super::{ChatError, ChatService};
use crate::storage::entities::chat_presence;

impl ChatService {
    /// A socket of `user` joined. Tells the contacts when it is the user's
    /// first socket here, and returns the contacts' presence for the new socket.
    pub async fn joined(&self, user: Uuid, first_here: bool) -> Result<Vec<String>, ChatError> {
        let contacts = self.contacts(user).await?;
        if first_here {
            self.fanout.claim_online(user).await;
            self.fanout.publish(
                contacts.clone(),
                Push::Presence {
                    user_id: user,
                    online: true,
                    last_seen: None,
                }
                .to_frame(),
                None,
            );
        }
        let online = self.fanout.online_among(&contacts).await;
        let offline: Vec<Uuid> = contacts
            .iter()
            .copied()
            .filter(|c| !online.contains(c))
            .collect();
        let seen: HashMap<Uuid, chrono::DateTime<Utc>> = chat_presence::Entity::find()
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
                }
                .to_frame()
            })
            .collect())
    }

    /// A socket of `user` left; when it was their last one anywhere, the
    /// last-seen time is stored and the contacts are told.
    pub async fn left(&self, user: Uuid, last_here: bool) -> Result<(), ChatError> {
        if !last_here || self.fanout.release_online(user).await {
            return Ok(());
        }
        let now = Utc::now();
        chat_presence::Entity::insert(chat_presence::ActiveModel {
            user_id: Set(user),
            last_seen_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(chat_presence::Column::UserId)
                .update_column(chat_presence::Column::LastSeenAt)
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        let contacts = self.contacts(user).await?;
        self.fanout.publish(
            contacts,
            Push::Presence {
                user_id: user,
                online: false,
                last_seen: Some(now),
            }
            .to_frame(),
            None,
        );
        Ok(())
    }
}
