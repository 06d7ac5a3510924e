pub mod digest;
pub mod push;
pub mod push_job;
