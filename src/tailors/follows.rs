//! Follows between users (old `auth_api` follow/unfollow).
