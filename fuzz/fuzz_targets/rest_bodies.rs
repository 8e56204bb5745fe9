//! JSON bodies to the main REST routes (login, a customer's patch, a queue, a new agent, the
//! assignment rules), read and checked as the handlers do before the store. The first byte picks
//! the route.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugboard_hub::api::fuzz;

fuzz_target!(|data: &[u8]| {
    let Some((&route, body)) = data.split_first() else {
        return;
    };
    fuzz::rest_body(route, body);
});
