//! What the fuzz targets in fuzz/ reach of the API: a websocket frame or a REST body as a stranger
//! sends it, read and checked as the handlers do before anything reaches the dispatcher or the
//! store. Compiled only under `cargo fuzz`, which sets `--cfg fuzzing`.

/// One text frame to `/ws/agent`.
pub fn agent_frame(text: &str) {
    super::ws_agent::fuzz_frame(text);
}

/// One text frame to `/ws/chat`.
pub fn widget_frame(text: &str) {
    super::ws_chat::fuzz_frame(text);
}

/// A body to one of the main routes: `route` picks login, a customer's patch, a queue, a new
/// agent or the assignment rules.
pub fn rest_body(route: u8, body: &[u8]) {
    match route % 5 {
        4 => {
            if let Ok(rules) = serde_json::from_slice::<Vec<crate::crm::rules::AssignmentRule>>(body) {
                let _ = crate::crm::rules::check(&rules);
            }
        }
        route => super::rest::fuzz_body(route, body),
    }
}
