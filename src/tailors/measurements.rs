//! Customers' measurement profiles, stored in millimetres, with every
//! earlier version kept.
