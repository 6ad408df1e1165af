//! Which filters `pagination.totalItems` counts exactly (spec §7).

use loggate_core::count::only_exact;
use loggate_core::Filters;

use crate::translate;

/// The window (strict `createdAt` operators widened by a millisecond:
/// exact at loggate's millisecond resolution), the level (Alloy logs are
/// ERROR exactly when `message` is `executionError`) and a 24-hex
/// `user_id` (the `userId` column the record's `user_id` is read from).
/// `q` is re-spelled for the documented messages only, and the attribute
/// columns are not known to compare as loggate does: those are scanned.
pub(crate) fn counts_exactly(filters: &Filters) -> bool {
    let plan = translate::plan(filters, false);
    let pushed = |name: &str| plan.pushed.iter().any(|p| p == name);
    let exact: Vec<&str> = ["start", "end", "level", "min_level", "user_id"]
        .into_iter()
        .filter(|name| pushed(name) || (plan.unsatisfiable && name.contains("level")))
        .collect();
    only_exact(filters, &exact)
}
