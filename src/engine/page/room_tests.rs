//! How long a page waits for room among the pages in flight.

use super::*;

#[test]
fn a_page_waits_for_room_at_most_max_queue_wait() {
    let now = Instant::now();
    let timeout = Duration::from_secs(15);
    let deadline = now + timeout;
    let until = room_wait_until(now, deadline, timeout, Duration::from_secs(1));
    assert_eq!(until, now + Duration::from_secs(1));
}

#[test]
fn a_long_max_queue_wait_still_leaves_half_the_time_to_the_upstreams() {
    let now = Instant::now();
    let timeout = Duration::from_secs(4);
    let deadline = now + timeout;
    let until = room_wait_until(now, deadline, timeout, Duration::from_secs(60));
    assert_eq!(until, now + Duration::from_secs(2));
}
