//! Seeded sample data shaped like Alloy's documented logs: a team with
//! several parent ("forge") workflows on different integrations, several
//! users each running their own copy of a workflow, and executions that
//! start, finish or fail. ObjectIds are realistic: 24 hex digits whose
//! first 8 are the creation time in seconds.

use loggate_core::sim::SeededRng;
use loggate_core::time::format_ms;
use serde_json::{json, Value};

const WORKFLOW_NAMES: [&str; 6] = [
    "order_id example",
    "Sync Shopify orders to NetSuite",
    "Create HubSpot contact on signup",
    "Notify Slack on refund",
    "Nightly Salesforce export",
    "Zendesk ticket escalation",
];

const INTEGRATIONS: [(&str, &str); 4] = [
    ("Eduardo looper", "alloy-logo"),
    ("Shopify", "shopify"),
    ("HubSpot", "hubspot"),
    ("Slack", "slack"),
];

const USERS: [(&str, &str); 7] = [
    ("Eduardo Souza", "eduardo.souza@runalloy.com"),
    ("Maya Patel", "maya.patel@acme-retail.com"),
    ("Jonas Berg", "jonas.berg@northwind.io"),
    ("Aiko Tanaka", "aiko.tanaka@kumo.jp"),
    ("Lucía Fernández", "lucia.fernandez@tiendaverde.es"),
    ("Sam O'Neill", "sam.oneill@brightdesk.co"),
    ("Priya Raman", "priya.raman@fintrail.in"),
];

struct Integration {
    id: String,
    name: &'static str,
    block_id: String,
    icon: String,
}

struct ForgeWorkflow {
    id: String,
    name: &'static str,
    integration: usize,
    latest_version: u64,
}

struct User {
    id: String,
    full_name: &'static str,
    email: &'static str,
}

/// Makes logs; keeps its random stream so later inserts stay seeded.
pub struct Generator {
    rng: SeededRng,
    team_id: String,
    integrations: Vec<Integration>,
    workflows: Vec<ForgeWorkflow>,
    users: Vec<User>,
    /// The user's own copy of each forge workflow: `[workflow][user]`.
    instances: Vec<Vec<String>>,
}

impl Generator {
    pub fn new(seed: u64, epoch_ms: i64) -> Self {
        let mut rng = SeededRng::new(seed);
        let aged_id = |rng: &mut SeededRng, days_before: i64| {
            object_id(rng, epoch_ms - days_before * 86_400_000)
        };
        let team_id = aged_id(&mut rng, 400);
        let integrations = INTEGRATIONS
            .iter()
            .map(|(name, icon)| Integration {
                id: aged_id(&mut rng, 200),
                name,
                block_id: nano_id(&mut rng, 20),
                icon: format!("https://cdn.runalloy.com/icons/{icon}.png"),
            })
            .collect::<Vec<_>>();
        let workflows = WORKFLOW_NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| ForgeWorkflow {
                id: aged_id(&mut rng, 120),
                name,
                integration: i % INTEGRATIONS.len(),
                latest_version: 1 + rng.below(4),
            })
            .collect::<Vec<_>>();
        let users = USERS
            .iter()
            .map(|(full_name, email)| User {
                id: aged_id(&mut rng, 90),
                full_name,
                email,
            })
            .collect::<Vec<_>>();
        let instances = workflows
            .iter()
            .map(|_| users.iter().map(|_| aged_id(&mut rng, 60)).collect())
            .collect();
        Generator {
            rng,
            team_id,
            integrations,
            workflows,
            users,
            instances,
        }
    }

    /// One log created at `created_ms`.
    pub fn log(&mut self, created_ms: i64) -> Value {
        let w = self.rng.below(self.workflows.len() as u64) as usize;
        let u = self.rng.below(self.users.len() as u64) as usize;
        let workflow = &self.workflows[w];
        let integration = &self.integrations[workflow.integration];
        let user = &self.users[u];
        let message = match self.rng.below(100) {
            0..=17 => "executionError",
            18..=59 => "executionFinished",
            _ => "executionStarted",
        };
        let duration = if message == "executionStarted" {
            0
        } else {
            40 + self.rng.below(8_000) as i64
        };
        let mut log = json!({
            "_id": object_id(&mut self.rng, created_ms),
            "message": message,
            "data": {
                "executionId": object_id(&mut self.rng, created_ms - duration),
                "executionUuid": nano_id(&mut self.rng, 21),
            },
            "startedAt": format_ms(created_ms - duration),
            "completedAt": format_ms(created_ms),
            "createdAt": format_ms(created_ms),
            "customVersion": self.rng.chance(10),
            "workflowVersion": 1 + self.rng.below(workflow.latest_version),
            "teamId": self.team_id,
            "forgeWorkflowId": workflow.id,
            "workflowId": self.instances[w][u],
            "userId": user.id,
            "user": {"email": user.email, "fullName": user.full_name},
            "forgeWorkflow": {
                "name": workflow.name,
                "integrationId": {
                    "_id": integration.id,
                    "name": integration.name,
                    "blockId": integration.block_id,
                    "icon": integration.icon,
                },
            },
        });
        // A started execution has not completed.
        if message == "executionStarted" {
            if let Some(object) = log.as_object_mut() {
                object.remove("completedAt");
            }
        }
        log
    }
}

/// A MongoDB ObjectId: creation seconds, then 16 random hex digits.
fn object_id(rng: &mut SeededRng, at_ms: i64) -> String {
    let seconds = (at_ms.max(0) / 1000) as u32;
    format!("{seconds:08x}{}", rng.hex(16))
}

/// A nanoid-style id (`35SnGU0DUSNP5L26fsmnq`): mixed-case alphanumerics.
fn nano_id(rng: &mut SeededRng, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..len)
        .map(|_| char::from(ALPHABET[rng.below(ALPHABET.len() as u64) as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_look_like_the_documented_example() {
        let mut generator = Generator::new(3, 1_745_948_650_432);
        for _ in 0..50 {
            let log = generator.log(1_745_948_650_432);
            let id = log["_id"].as_str().unwrap();
            assert_eq!(id.len(), 24);
            assert!(id.starts_with("68110fea"));
            assert_eq!(log["data"]["executionUuid"].as_str().unwrap().len(), 21);
            let started = log["message"] == "executionStarted";
            assert_eq!(log.get("completedAt").is_none(), started);
            assert!(log["user"]["email"].as_str().unwrap().contains('@'));
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_logs() {
        let a = Generator::new(9, 0).log(5_000);
        let b = Generator::new(9, 0).log(5_000);
        assert_eq!(a, b);
    }
}
