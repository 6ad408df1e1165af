//! Reading one value of a gateway's `/metrics`.

use super::Gateway;

/// A value of `/metrics` (a counter's `_total` series or a gauge).
pub async fn metric(gateway: &Gateway, name: &str) -> u64 {
    let text = gateway.text("/metrics").await;
    text.lines()
        .find_map(|line| {
            let (series, value) = line.split_once(' ')?;
            (series == name || series == format!("{name}_total")).then(|| value.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}
