//! A whole job through the batch API: split to fit the caps, submit the next part when
//! earlier ones finish (the enqueued-token limit), poll, download, and report every item.

use std::collections::{HashMap, VecDeque};

use super::error::BatchError;
use super::types::{BatchInfo, BatchItem, BatchStatus, ItemOutcome, ItemResult};
use super::{BatchApi, Part, PollSchedule};

impl BatchApi {
    /// Runs `items` to the end: splits them over as many batches as the caps need, keeps the
    /// enqueued tokens within [`BatchCaps::enqueued_tokens`](super::BatchCaps), polls on
    /// `schedule` (calling `on_poll` with every running batch after each round) and returns
    /// one result per item, in the items' order.
    ///
    /// Nothing is dropped: an item with no result line (its batch failed as a whole) comes
    /// back [`ItemOutcome::Errored`] with code `batch_failed` and the batch's errors;
    /// expired and cancelled items come back as such, for the caller to send again.
    pub fn run(
        &self,
        items: &[BatchItem],
        schedule: &PollSchedule,
        mut on_poll: impl FnMut(&[BatchInfo]),
    ) -> Result<Vec<ItemResult>, BatchError> {
        let encoded = self.encode(items)?;
        let mut pending: VecDeque<Part> = self.parts(&encoded)?.into();
        let lines: Vec<Vec<u8>> = encoded.into_iter().map(|(_, b)| b).collect();
        let limit = self.caps.enqueued_tokens;
        let mut running: Vec<(Part, BatchInfo)> = Vec::new();
        let mut found: HashMap<String, ItemOutcome> = HashMap::new();
        for n in 0.. {
            // Submit what fits beside the running parts (always one when none runs).
            while let Some(part) = pending.front() {
                let enqueued: u64 = running.iter().map(|(p, _)| p.tokens).sum();
                if !running.is_empty() && limit.is_some_and(|l| enqueued + part.tokens > l) {
                    break;
                }
                let part = pending.pop_front().unwrap_or_else(|| unreachable!("front was Some"));
                let part_lines: Vec<Vec<u8>> =
                    part.indices.iter().map(|i| lines[*i].clone()).collect();
                let info = self.submit_encoded(&part_lines)?;
                let rejected_for_tokens = info.status == BatchStatus::Failed
                    && info.errors.iter().any(|e| e.code == "token_limit_exceeded");
                if rejected_for_tokens && !running.is_empty() {
                    // The provider counts differently from our estimate: wait for a part to end.
                    pending.push_front(part);
                    break;
                }
                running.push((part, info));
            }
            if running.is_empty() {
                break;
            }
            self.engine().sleep(schedule.delay(n));
            let mut still = Vec::new();
            for (part, info) in running {
                let info = if info.status.is_terminal() { info } else { self.status(&info.id)? };
                if info.status.is_terminal() {
                    self.collect(items, &part, &info, &mut found)?;
                } else {
                    still.push((part, info));
                }
            }
            running = still;
            let infos: Vec<BatchInfo> = running.iter().map(|(_, i)| i.clone()).collect();
            on_poll(&infos);
            if running.is_empty() && pending.is_empty() {
                break;
            }
        }
        Ok(items
            .iter()
            .map(|item| ItemResult {
                custom_id: item.custom_id.clone(),
                outcome: found.remove(&item.custom_id).unwrap_or(ItemOutcome::Errored {
                    status: None,
                    code: "missing_result".into(),
                    message: "the batch ended without a result for this item".into(),
                }),
            })
            .collect())
    }

    /// Reads a finished part's results into `found`, one per item of the part.
    fn collect(
        &self,
        items: &[BatchItem],
        part: &Part,
        info: &BatchInfo,
        found: &mut HashMap<String, ItemOutcome>,
    ) -> Result<(), BatchError> {
        let mine: HashMap<&str, ()> =
            part.indices.iter().map(|i| (items[*i].custom_id.as_str(), ())).collect();
        for r in self.results(info)? {
            if mine.contains_key(r.custom_id.as_str()) {
                found.insert(r.custom_id, r.outcome);
            }
        }
        let why = if info.errors.is_empty() {
            format!("the batch {} ended {} without a result for this item", info.id, info.status)
        } else {
            let list: Vec<String> =
                info.errors.iter().map(|e| format!("{}: {}", e.code, e.message)).collect();
            format!("the batch {} {}: {}", info.id, info.status, list.join("; "))
        };
        for i in &part.indices {
            let id = &items[*i].custom_id;
            found.entry(id.clone()).or_insert_with(|| match info.status {
                BatchStatus::Expired => ItemOutcome::Expired,
                BatchStatus::Cancelled => ItemOutcome::Canceled,
                _ => ItemOutcome::Errored {
                    status: None,
                    code: "batch_failed".into(),
                    message: why.clone(),
                },
            });
        }
        Ok(())
    }
}
