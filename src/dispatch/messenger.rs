//! The Cloud API client as the engine's [`Messenger`]: maps the client's
//! classification onto what the dispatcher does.

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{Messenger, Reply};
use crate::cloud::{Client, RetryScope, SendOutcome};
use crate::phone::Phone;
use crate::template::{Category, Params, Template};

/// Code stored for failures that came without a Graph code (bare HTTP errors).
const NO_CODE: u32 = 0;

fn code(c: Option<i64>) -> u32 {
    c.and_then(|c| u32::try_from(c).ok()).unwrap_or(NO_CODE)
}

/// Maps one classified answer onto the engine's reaction.
pub fn reply(outcome: SendOutcome) -> Reply {
    match outcome {
        SendOutcome::Accepted { wamid, .. } => Reply::Accepted { wamid },
        SendOutcome::Retry {
            code: c,
            backoff,
            scope,
        } => Reply::Retry {
            code: code(c),
            after: backoff,
            throttle: scope == RetryScope::Number,
            pause_all: scope == RetryScope::App,
        },
        SendOutcome::FinalForRecipient {
            code: c,
            revoke_consent,
            ..
        } => Reply::Failed {
            code: code(c),
            revoke: revoke_consent,
        },
        SendOutcome::Deferred { code: c, .. } => Reply::Deferred { code: code(c) },
        SendOutcome::StopCampaign { code: c, message } => Reply::Stop {
            code: code(c),
            message,
        },
        SendOutcome::Unknown { reason } => Reply::Unknown { reason },
    }
}

impl Messenger for Client {
    fn send<'a>(
        &'a self,
        to: Phone,
        template: &'a Template,
        params: &'a Params,
        callback_data: &'a str,
    ) -> BoxFuture<'a, Reply> {
        self.send_template(to, template, params, callback_data)
            .map(reply)
            .boxed()
    }

    fn renew_credentials(&self) -> Result<bool, crate::cloud::CloudError> {
        self.reload_token()
    }

    fn latest_category(&self, template: &Template) -> Option<Category> {
        self.categories().map(|c| c.route_category(template))
    }
}
