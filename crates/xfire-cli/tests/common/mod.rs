//! Checks shared by the end-to-end tests.

#![allow(dead_code)] // each test file uses part of it

pub mod checkpoint;
pub mod report_html;
