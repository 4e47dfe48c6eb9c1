//! Submitting the parts of a `--via batch` job, and finding what a stopped run may have
//! submitted without saving its id, so that nothing is paid for twice.
//!
//! Each part is saved before its batch is asked for (`submitted_at`), and its ids are saved
//! as soon as they come back. A run stopped in between leaves a part with no batch id:
//! - OpenAI: the input file's id was saved before the batch was created from it, so the batch
//!   is looked up by its file ([`BatchApi::find_by_input_file`]) or created from it.
//! - Anthropic has no input file. The batches created around `submitted_at` with as many
//!   requests as the part are its candidates; each is watched until it ends, and the one
//!   whose results carry this job's tag is adopted. With no candidate the batch was never
//!   created and the lines are submitted again. Safe reading: the list is taken to show a
//!   batch as soon as its creation has answered (the docs promise nothing either way).

use std::collections::HashSet;
use std::path::Path;

use std::collections::HashMap;

use chat_limiter::{
    BatchApi, BatchEndpoint, BatchError, BatchItem, ChatLimiter, OpenAiApi, Provider,
};

use crate::batch_record::Line;
use crate::batch_state::{self, JobState, PartState};
use crate::Fatal;

/// How long before `submitted_at` a candidate may have been created (clock skew between this
/// machine and the provider).
const SKEW_SECS: u64 = 120;
/// How long after `submitted_at` the creation may have taken (retries after 429s included).
const CREATE_WINDOW_SECS: u64 = 3600;

/// The job's batch API on each OpenAI endpoint: a line goes to the endpoint of the API it
/// asks for (`/v1/responses` lines, or `--openai-api` / `--responses-models`), and every part
/// remembers its endpoint, so a resumed run polls and resubmits it on the same one.
pub struct Apis {
    chat: BatchApi,
    responses: BatchApi,
}

impl Apis {
    /// Both endpoints of `api` (its caps and key).
    pub fn new(api: BatchApi) -> Self {
        let responses = api.clone().with_endpoint(BatchEndpoint::Responses);
        Apis { chat: api.with_endpoint(BatchEndpoint::ChatCompletions), responses }
    }

    /// The API of a part.
    pub fn of(&self, part: &PartState) -> &BatchApi {
        match part.endpoint.as_deref() {
            Some(e) if e == BatchEndpoint::Responses.as_str() => &self.responses,
            _ => &self.chat,
        }
    }
}

/// Submits the lines not in any batch yet, split by endpoint and then by the caps, one part
/// after the other; stops between parts when a signal arrives (the rest stays unsent).
pub fn submit_fresh(
    apis: &Apis,
    limiter: &ChatLimiter,
    fresh: &[u64],
    lines: &HashMap<u64, Line>,
    state: &mut JobState,
    path: &Path,
) -> Result<(), Fatal> {
    let openai = limiter.provider() == Provider::OpenAI;
    let (responses, chat): (Vec<u64>, Vec<u64>) = fresh.iter().partition(|n| {
        openai && limiter.openai_api_for(&lines[*n].request) == OpenAiApi::Responses
    });
    for (group, endpoint) in
        [(chat, BatchEndpoint::ChatCompletions), (responses, BatchEndpoint::Responses)]
    {
        if group.is_empty() {
            continue;
        }
        let endpoint = (endpoint == BatchEndpoint::Responses).then(|| endpoint.as_str().into());
        let api = apis.of(&PartState { endpoint: endpoint.clone(), ..PartState::default() });
        let items: Vec<BatchItem> = group
            .iter()
            .map(|n| BatchItem::new(state.item_id(*n), lines[n].request.clone()))
            .collect();
        let plan = api.plan(&items).map_err(|e| Fatal::usage(e.to_string()))?;
        for indices in plan {
            if crate::signals::received().is_some() {
                return Ok(()); // the lines of the parts not submitted stay unsent
            }
            let part_lines: Vec<u64> = indices.iter().map(|i| group[*i]).collect();
            let part =
                PartState { lines: part_lines, endpoint: endpoint.clone(), ..PartState::default() };
            state.parts.push(part);
            let subset: Vec<BatchItem> = indices.iter().map(|i| items[*i].clone()).collect();
            let last = state.parts.len() - 1;
            submit_part(api, &subset, state, last, path)?;
        }
    }
    Ok(())
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Saves the job's state, or says why it could not.
pub fn save(path: &Path, state: &JobState) -> Result<(), Fatal> {
    batch_state::save(path, state)
        .map_err(|e| Fatal::failed(format!("cannot save {}: {e}", path.display())))
}

fn submit_failed(e: BatchError) -> Fatal {
    Fatal::failed(format!("cannot submit a batch: {e}"))
}

/// Submits part `i` of the job and saves its ids as they come (OpenAI: the file before the
/// batch, so a stop in between can find the batch by its file).
pub fn submit_part(
    api: &BatchApi,
    subset: &[BatchItem],
    state: &mut JobState,
    i: usize,
    path: &Path,
) -> Result<(), Fatal> {
    state.parts[i].submitted_at = Some(unix_now());
    state.parts[i].candidates.clear();
    save(path, state)?;
    let info = if state.provider == Provider::Anthropic.as_str() {
        api.submit(subset).map_err(submit_failed)?
    } else {
        let file = api.upload(subset).map_err(submit_failed)?;
        state.parts[i].file_id = Some(file.clone());
        save(path, state)?;
        api.create_from_file(&file).map_err(submit_failed)?
    };
    crate::logger::say(&format!(
        "chat-limiter: submitted batch {} ({} requests)\n",
        info.id,
        subset.len()
    ));
    state.parts[i].batch_id = Some(info.id);
    save(path, state)
}

/// Settles every part a stopped run left without a batch id: found by its file (OpenAI),
/// given its candidates (Anthropic), or dropped so that its lines are submitted again.
pub fn recover(apis: &Apis, state: &mut JobState, path: &Path) -> Result<(), Fatal> {
    for i in 0..state.parts.len() {
        let part = &state.parts[i];
        let api = apis.of(part);
        if part.done || part.batch_id.is_some() || !part.candidates.is_empty() {
            continue;
        }
        if let Some(file) = part.file_id.clone() {
            let info = match api.find_by_input_file(&file).map_err(submit_failed)? {
                Some(info) => info,
                None => api.create_from_file(&file).map_err(submit_failed)?,
            };
            state.parts[i].batch_id = Some(info.id);
            save(path, state)?;
            continue;
        }
        let Some(at) = part.submitted_at.filter(|_| state.provider == "anthropic") else {
            continue; // an OpenAI part stopped before its upload, or a job saved before tags
        };
        let claimed: HashSet<&str> = state
            .parts
            .iter()
            .flat_map(|p| p.batch_id.iter().chain(p.candidates.iter()))
            .map(String::as_str)
            .collect();
        let size = part.lines.len() as u64;
        let found: Vec<String> = api
            .created_since(at.saturating_sub(SKEW_SECS))
            .map_err(|e| Fatal::failed(format!("cannot list the account's batches: {e}")))?
            .into_iter()
            .filter(|b| b.counts.total == size && !claimed.contains(b.id.as_str()))
            .filter(|b| b.created_at.is_none_or(|t| t <= at.saturating_add(CREATE_WINDOW_SECS)))
            .map(|b| b.id)
            .collect();
        if found.is_empty() {
            continue;
        }
        crate::logger::say(&format!(
            "chat-limiter: the last run stopped while submitting {size} lines; {} batch(es) \
             created then may hold them ({}): watching rather than paying twice\n",
            found.len(),
            found.join(", ")
        ));
        state.parts[i].candidates = found;
        save(path, state)?;
    }
    // What is left without a batch, a file or a candidate was never created: send it again.
    let unsure = state
        .parts
        .iter()
        .filter(|p| p.batch_id.is_none() && p.candidates.is_empty() && !p.done)
        .count();
    if unsure > 0 {
        crate::logger::say(&format!(
            "chat-limiter: {unsure} batch(es) were being submitted when the last run stopped \
             and none was created; their lines are submitted again\n"
        ));
    }
    state.parts.retain(|p| p.batch_id.is_some() || !p.candidates.is_empty() || p.done);
    save(path, state)
}
