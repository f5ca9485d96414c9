//! Checks shared by the end-to-end tests.

pub mod report_html;
