//! Integration tests of everything `nexus-bench` writes from a result file
//! (modules under `tests/outputs/`).

#[path = "outputs/banners.rs"]
mod banners;
#[path = "outputs/browser.rs"]
mod browser;
#[path = "outputs/browser_flame.rs"]
mod browser_flame;
#[path = "outputs/browser_heap.rs"]
mod browser_heap;
#[path = "outputs/escaping.rs"]
mod escaping;
#[path = "outputs/files.rs"]
mod files;
#[path = "outputs/fixture.rs"]
mod fixture;
#[path = "outputs/hlog.rs"]
mod hlog;
#[path = "outputs/long_report.rs"]
mod long_report;
#[path = "outputs/same_numbers.rs"]
mod same_numbers;
#[path = "outputs/size.rs"]
mod size;
#[path = "outputs/snapshots.rs"]
mod snapshots;
