//! Websocket text frames as a stranger sends them: to `/ws/agent` (a console, once signed in) and
//! to `/ws/chat` (the widget, anyone), read and checked as the sessions do before anything reaches
//! the dispatcher or the store. The first byte picks the socket.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugboard_hub::api::fuzz;

fuzz_target!(|data: &[u8]| {
    let Some((&socket, frame)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(frame) else {
        return;
    };
    if socket & 1 == 0 {
        fuzz::agent_frame(text);
    } else {
        fuzz::widget_frame(text);
    }
});
