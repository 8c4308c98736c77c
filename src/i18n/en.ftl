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
