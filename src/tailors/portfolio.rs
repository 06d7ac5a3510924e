//! Tailors' portfolio items and their ordered images.
