# bote — English messages (Fluent). Every id here is in de.ftl too.

## Keys (footer and the ? overlay)

key-previous-row-field = previous row / field
key-next-row-field = next row / field
key-page-up = page up
key-page-down = page down
key-first-row = first row
key-last-row-follow-newest = last row / follow newest
key-previous-value = previous value
key-next-value = next value
key-next-field = next field
key-previous-field = previous field
key-open-choose = open / choose
key-back = back
key-back-quit-on-the-home-screen = back (quit on the home screen)
key-keys = keys
key-new-campaign = new campaign
key-consents = consents
key-open-campaign = open campaign
key-refresh = refresh
key-quit = quit
key-use-template = use template
key-topic = topic
key-dry-run = dry run
key-recipients-of-reason = recipients of reason
key-previews = previews
key-send = send
key-include-leave-out-who-got-this-template-recently = include / leave out who got this template recently
key-pause = pause
key-resume = resume
key-cancel = cancel…
key-filter = filter
key-follow = follow
key-details-and-export = details and export
key-export-csv = export CSV
key-export-json = export JSON
key-re-send-unknown = re-send unknown…
key-search = search
key-revoke-topic = revoke topic…
key-revoke-all = revoke all…
key-import-csv = import CSV
key-import = import
key-send-ask = send…
key-mouse = wheel scrolls; a click selects a row, a second click opens it
key-ctrl-c = quit now (a running campaign goes on in the daemon)

## Dialog and text-field hints

hint-write = write
hint-mask-numbers = mask numbers
hint-clear = clear
hint-cancel = cancel
hint-confirm = confirm
hint-no = no
hint-yes = yes
hint-submit = submit

## Shared words

tui-reading-store = reading the store…
tui-n-of-m = { $n } of { $m }
tui-col-id = ID
tui-col-state = State
tui-col-template = Template
tui-col-topic = Topic
tui-col-audience = Audience
tui-col-taken = {"  "}Taken
tui-col-failed = Failed
tui-col-unknown = {" "}Unkn
tui-col-created = Created
tui-col-finished = Finished
tui-col-confirmed = Confirmed
tui-col-pending = Pending
tui-col-revoked = Revoked

## Home

tui-home-campaigns = {" "}Campaigns{" "}
tui-home-no-campaigns = No campaigns yet.
tui-home-press = Press{" "}
tui-home-to-plan-one = {" "}to plan one (a dry run comes first; nothing is sent without a confirmation).
tui-home-consents = {" "}Consents per topic{" "}
tui-home-store-empty = The store is empty: import a consent list (c, then i).
tui-home-tier = {" "}Messaging tier (24 h){" "}
tui-home-tier-used = unique recipients messaged in the last 24 h: { $n }
tui-home-tier-free = free now: { $n }

## Banner and campaign states

tui-mode-sandbox = local simulator · nothing leaves this machine
tui-campaign-active = ● campaign { $id } active{"  "}
tui-state-planned = planned
tui-state-scheduled = scheduled
tui-state-sending = sending
tui-state-paused = paused
tui-state-held = held
tui-state-cancelled = cancelled
tui-state-finished = finished

## The new-campaign wizard

tui-new-campaign = New campaign ·{" "}
tui-step-template = 1 Template
tui-step-audience = 2 Audience
tui-step-plan = 3 Dry run
tui-step-confirm = 4 Confirm
tui-planning = planning…
tui-nobody = nobody
tui-nobody-eligible = nobody eligible
tui-template-title = {" "}Template{" "}
tui-template-none = No templates: add TOML files to the templates directory.
tui-template-not-selectable = Not selectable: status { $status }; only APPROVED templates can be sent.
tui-audience-title = {" "}Audience{" "}
tui-audience-live = {" "}Live count{" "}
tui-audience-template = Template:{" "}
tui-audience-topic = Topic:{" "}
tui-audience-locale = Locale
tui-audience-list = List (CSV path)
tui-audience-hint-topic = ←/→ choose the campaign's purpose; only consents covering it qualify (G6)
tui-audience-hint-locale = e.g. de (matches de_AT too); empty: every language
tui-audience-hint-list = a CSV with a phone column, matched against the store; empty: the whole store
tui-audience-enter = Enter: the full dry run
tui-eligible-n = eligible { $n }
tui-of-n-excluded-m = {" "}of { $n } · excluded { $m }
tui-plan-title = {" "}Dry run{" "}
tui-plan-summary-title = {" "}Dry run: { $name } ({ $language }, { $category }) · topic { $topic }{ $locale }{" "}
tui-plan-locale = {" "}· locale { $locale }
tui-plan-eligible = Eligible { $n }
tui-plan-of = {" "}of { $n } ·{" "}
tui-plan-excluded = excluded { $n }
tui-plan-cost = Cost ≤ { $money } ({ $countries })
tui-plan-tier = Tier:{" "}
tui-tier-all-now = all { $now } now ({ $used } of { $tier } used in 24 h)
tui-tier-rest-after = { $now } now, rest { $later } after { $at }
tui-tier-exceeds = { $now } now; { $later } exceed the tier of { $tier } even on an idle day
tui-plan-reasons = {" "}Excluded, by reason{" "}
tui-plan-nobody-excluded = nobody excluded
tui-preview = {" "}Preview{" "}
tui-preview-n-of-m = {" "}Preview { $n } of { $m } · { $who }{" "}
tui-col-recipient = Recipient
tui-col-line = Line
tui-col-reason = Reason
tui-eta = Rate ≤ { $rate }/s · ETA { $sending }
tui-eta-not-within-a-day = not within a day
tui-eta-quiet = Rate ≤ { $rate }/s · { $sending } of sending · { $held } held by quiet hours until { $until } · last send ≈ { $last }
tui-eta-held = Rate ≤ { $rate }/s · { $sending } of sending · last send ≈ { $last }
tui-template-not-approved = { $name } is { $status }: only APPROVED templates can be sent
tui-no-topics = no topics configured ([consent] topics)
tui-nobody-recent = nobody in this audience got the template recently
tui-including-recent = including who got this template recently
tui-leaving-out-recent = leaving out who got this template recently
tui-dry-run-running = the dry run is still running
tui-nobody-may-receive = nobody in this audience may receive the message
tui-one-at-a-time = campaign { $id } is sending; one campaign at a time
tui-creating = creating the campaign…
tui-starting = starting…
tui-confirm-title = {" "}Confirm{" "}
tui-confirm-template = Template{" "}
tui-confirm-topic = {" "}· topic { $topic } ·{" "}
tui-confirm-recipients = { $n } recipients
tui-confirm-cost = cost up to { $cost } · at most { $rate }/s · about { $eta }
tui-confirm-sandbox = SANDBOX: messages go to the local simulator; nothing leaves this machine.
tui-confirm-send = {" "}send{"   "}
tui-confirm-back = {" "}back
tui-confirm-live = LIVE: this sends { $n } real WhatsApp messages.
tui-confirm-type = Type { $n } and Enter to send

## Recipient states

tui-rstate-pending = pending
tui-rstate-in-flight = in_flight
tui-rstate-accepted = accepted
tui-rstate-sent = sent
tui-rstate-delivered = delivered
tui-rstate-read = read
tui-rstate-failed = failed
tui-rstate-skipped = skipped
tui-rstate-unknown = unknown
tui-rstate-deferred = deferred

## The dashboard

tui-reading = reading…
tui-n-rows = { $n } rows
tui-col-index = {"     "}#
tui-col-number = Number
tui-col-code = Code
tui-col-latency = {" "}Latency
tui-col-note = Note
tui-dash-none = No campaign is running.
tui-dash-stopped-by-error = STOPPED BY AN ERROR
tui-dash-paused = PAUSED
tui-dash-held = HELD
tui-dash-slowed = SENDING (slowed)
tui-dash-sending = SENDING
tui-dash-title = {" "}Campaign { $id } · { $template } · topic { $topic } ·{" "}
tui-dash-eta = ETA { $eta }
tui-dash-eta-none = ETA —
tui-dash-rate = { $rate }/s of { $ceiling }
tui-dash-observed = {" "}· observed { $observed }/s · { $eta } · elapsed { $elapsed } · { $workers } workers{ $cost }
tui-dash-cost = {" "}· cost est. { $estimated } / actual { $actual }
tui-dash-spark-title = {" "}Sends per second · ceiling { $ceiling }{" "}
tui-dash-waiting = waiting for the first second…
tui-dash-notices = {" "}Notices{" "}
tui-dash-notice-paused = PAUSED: { $reason } · r resumes
tui-dash-notice-held = HELD until { $until }: { $reason }
tui-dash-notice-slowed = slowed to { $rate }/s: { $reason }
tui-dash-done = done · Enter: details and export
tui-dash-all-states = all states
tui-dash-following = following
tui-dash-scrolled = scrolled · End follows
tui-dash-results-title = {" "}Results, newest first · { $label } · { $rows } · { $follow }{" "}

## Campaign detail

tui-reading-journal = reading the journal…
tui-col-attempts = Att
tui-col-updated = Updated
tui-one-campaign-at-a-time = a campaign is sending; one at a time
tui-nothing-to-resume = campaign { $id } is { $state }; nothing to resume
tui-no-unknown = no recipient has an unknown outcome
tui-resend-title = Send again to { $n } unknown?
tui-resend-may-have = { $n } recipient(s) may or may not have got the message
tui-resend-twice = (a crash or a lost response). Sending again may deliver it twice.
tui-resend-never-unless = bote never does this unless you ask. Send again?
tui-detail-exported = exported { $n } rows to { $path }
tui-detail-export-failed = export failed: { $error }
tui-export-title = Export results
tui-export-what = One row per recipient of campaign { $id }, written owner-only (0600).
tui-export-never-replaced = An existing file is never replaced: choose another name.
tui-detail-meta = created { $created } by { $by } · started { $started } · finished { $finished } · { $mode }
tui-detail-unknown = { $n } unknown: webhooks may still settle them; u sends them again
tui-detail-title = {" "}Campaign { $id } · { $template } ({ $language }) · topic { $topic } · { $state }{" "}
tui-detail-funnel = {" "}Funnel{" "}
tui-detail-journal = {" "}Journal · row { $n } of { $m }{" "}

## Consent import

tui-import-title = {" "}Import consents{" "}
tui-import-file = CSV file
tui-import-done = Imported{" "}
tui-importing = importing…
tui-import-esc = Esc: back to the consent browser
tui-import-hint = a consent-verified list: phone, opted_in_at, opt_in_source, topics …; Enter imports
tui-import-report = {" "}Report · { $file } · { $encoding } · '{ $delimiter }'{" "}
tui-import-imported = imported { $n }
tui-import-updated = {" "}· updated { $updated } · unchanged { $unchanged } · pending { $pending } ·{" "}
tui-import-rejected = rejected { $n }
tui-import-duplicates = {" "}· duplicates { $duplicates } · rows { $rows }
tui-import-unreadable = {" "}· unreadable { $n }
tui-import-dropped = dropped columns (not declared, G8): { $columns }
tui-import-rejected-rows = Rejected rows
tui-import-unreadable-rows = Unreadable rows (not imported)
tui-import-notes = Notes
tui-import-more = … { $n } more: `bote consent import --rejects OUT` lists all
tui-import-line = line { $n }{"  "}

## Dashboard notices and the send's standing

tui-notice-slowed = slowed to { $rate }/s: { $reason }
tui-notice-back = back to { $rate }/s
tui-notice-held = held: { $reason }
tui-notice-paused = paused: { $reason }
tui-notice-resumed = resumed
tui-notice-ended = run ended: { $state }
tui-notice-lagged = the view fell behind; some notices are missing (counts stay exact)
tui-notice-text = { $text }
tui-standing-skipped = , { $n } skipped
tui-standing-finished = { $attempted } of { $eligible } sent{ $skipped }
tui-standing-cancelled = { $attempted } of { $eligible } sent{ $skipped } (cancelled)
tui-standing-paused = { $done } of { $eligible } done, { $open } to go (paused)
tui-standing-planned = { $eligible } to send (not started)
tui-standing-sending = { $percent } % of { $eligible }

## Dialogs, the status line, the key overlay

tui-campaign-sending = campaign { $id } is sending
tui-another-sending = another campaign is sending; one at a time
tui-nothing-to-pause = campaign { $id } is { $state }: nothing to pause
tui-nothing-to-cancel = campaign { $id } is { $state }: nothing to cancel
tui-details-after-run = the details open once the run has ended
tui-pausing = pausing: requests in flight finish first
tui-cancel-title = Cancel campaign { $id }?
tui-cancel-skipped = Everyone not yet sent ({ $n }) is skipped for good.
tui-cancel-in-flight = Requests already in flight finish and are recorded.
tui-quit-title = Quit while sending?
tui-quit-goes-on = The campaign goes on sending in the bote daemon after you quit;
tui-quit-watch = a new TUI or `bote campaign watch ID` shows it again.
tui-unknown-key = { $key } does nothing here · ? shows the keys
tui-exporting = exporting…
tui-keys-title = {" "}Keys · any key closes{" "}
tui-keys-title-scroll = {" "}Keys { $from }–{ $to } of { $of } · ↑↓ scroll · other keys close{" "}
tui-export-file = File
tui-export-masked = {" "}numbers: masked to their last 4 digits
tui-export-full = {" "}numbers: in full
tui-export-keys = Enter: write   Esc: cancel
tui-modal-type = Type { $text } and Enter
tui-modal-esc-no = Esc: no
tui-modal-yes = {" "}yes{"   "}
tui-modal-no = {" "}no

## The consent browser's list

key-filter-contacts = filter the list
key-open-number = open the number
tui-contacts-filter = Filter
tui-contacts-filter-hint = f: topic= status= source= locale= since=YYYY-MM-DD before=YYYY-MM-DD · Enter
tui-contacts-title = {" "}Contacts · { $n } of { $total }{" "}
tui-col-locale = Lang
tui-col-consents = Consents
tui-col-source = Source
tui-col-imported = Imported
key-ack-topic = acknowledge the template's other topic
tui-ack-topic-first = the template is written for another topic: a acknowledges it first

## The CLI's dry run (campaign plan, and bote without arguments)

cli-plan-title = Dry run: template { $template } ({ $language }, { $category }, { $status }) · topic { $topic }{ $locale }{ $list }
cli-plan-locale = {" "}· locale { $locale }
cli-plan-list = {" "}· list { $list }
cli-plan-audience = audience
cli-plan-eligible = eligible
cli-plan-excluded = excluded
cli-plan-excluded-sample = Excluded (up to 10 per reason):
cli-plan-line = line { $n }{"  "}
cli-plan-previews = Previews:
cli-plan-to = to { $who }
cli-plan-cost = Cost estimate: { $money } (per delivered message)
cli-plan-tier-all = Messaging tier: { $used } of { $tier } unique recipients used in the last 24 h; all { $now } can go now
cli-plan-tier-split = Messaging tier: { $used } of { $tier } used; { $now } now, the other { $later } after { $when }
cli-plan-later-day = a later day (split the campaign)
cli-plan-tier-from = {"  "}tier from: { $source }
cli-plan-tier-config = config ([api] messaging_tier)
cli-plan-not-in-a-day = not in one day (split the campaign)
cli-plan-time-quiet = Sending time: { $secs } s at the rate; { $held } held by quiet hours until { $until }; last send about { $finish }
cli-plan-time = Sending time: { $secs } s at the rate; last send about { $finish }
cli-plan-nothing-sent = Nothing was sent (dry run).
cli-plan-languages = {"  "}languages of the eligible: { $languages } (the template is { $template })
cli-plan-no-language = none
