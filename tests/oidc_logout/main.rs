#![allow(dead_code)]
#[macro_use]
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/rp.rs"]
mod rp;
mod cases;
