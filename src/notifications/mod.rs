pub mod push;
pub mod push_job;
