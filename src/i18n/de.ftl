# bote — deutsche Texte (Fluent). Jede ID hier steht auch in en.ftl.

## Keys (footer and the ? overlay)

key-previous-row-field = vorige Zeile / voriges Feld
key-next-row-field = nächste Zeile / nächstes Feld
key-page-up = Seite hoch
key-page-down = Seite runter
key-first-row = erste Zeile
key-last-row-follow-newest = letzte Zeile / Neueste folgen
key-previous-value = voriger Wert
key-next-value = nächster Wert
key-next-field = nächstes Feld
key-previous-field = voriges Feld
key-open-choose = öffnen / wählen
key-back = zurück
key-back-quit-on-the-home-screen = zurück (auf der Startseite: beenden)
key-keys = Tasten
key-new-campaign = neue Kampagne
key-consents = Einwilligungen
key-open-campaign = Kampagne öffnen
key-refresh = aktualisieren
key-quit = beenden
key-use-template = Vorlage verwenden
key-topic = Thema
key-dry-run = Probelauf
key-recipients-of-reason = Empfänger dieses Grundes
key-previews = Vorschauen
key-send = senden
key-include-leave-out-who-got-this-template-recently = kürzlich Beschickte einbeziehen / auslassen
key-pause = pausieren
key-resume = fortsetzen
key-cancel = abbrechen…
key-filter = filtern
key-follow = folgen
key-details-and-export = Details und Export
key-export-csv = CSV exportieren
key-export-json = JSON exportieren
key-re-send-unknown = Unbekannte erneut senden…
key-search = suchen
key-revoke-topic = Thema widerrufen…
key-revoke-all = alles widerrufen…
key-import-csv = CSV importieren
key-import = importieren
key-send-ask = senden…
key-mouse = Rad scrollt; ein Klick wählt eine Zeile, ein zweiter öffnet sie
key-ctrl-c = sofort beenden (eine laufende Kampagne läuft im Daemon weiter)

## Dialog and text-field hints

hint-write = schreiben
hint-mask-numbers = Nummern maskieren
hint-clear = leeren
hint-cancel = abbrechen
hint-confirm = bestätigen
hint-no = nein
hint-yes = ja
hint-submit = absenden

## Shared words

tui-reading-store = lese den Speicher…
tui-n-of-m = { $n } von { $m }
tui-col-id = ID
tui-col-state = Status
tui-col-template = Vorlage
tui-col-topic = Thema
tui-col-audience = Umfang
tui-col-taken = {"  "}Angen
tui-col-failed = Fehler
tui-col-unknown = {" "}Unbk
tui-col-created = Erstellt
tui-col-finished = Beendet
tui-col-confirmed = Bestätigt
tui-col-pending = Offen
tui-col-revoked = Widerr.

## Home

tui-home-campaigns = {" "}Kampagnen{" "}
tui-home-no-campaigns = Noch keine Kampagnen.
tui-home-press = Mit{" "}
tui-home-to-plan-one = {" "}planen Sie eine (erst ein Probelauf; ohne Bestätigung wird nichts gesendet).
tui-home-consents = {" "}Einwilligungen je Thema{" "}
tui-home-store-empty = Der Speicher ist leer: importieren Sie eine Einwilligungsliste (c, dann i).
tui-home-tier = {" "}Versandstufe (24 h){" "}
tui-home-tier-used = eindeutige Empfänger der letzten 24 h: { $n }
tui-home-tier-free = jetzt frei: { $n }

## Banner and campaign states

tui-mode-sandbox = lokaler Simulator · nichts verlässt diesen Rechner
tui-campaign-active = ● Kampagne { $id } aktiv{"  "}
tui-state-planned = geplant
tui-state-scheduled = terminiert
tui-state-sending = sendet
tui-state-paused = pausiert
tui-state-held = wartet
tui-state-cancelled = abgebrochen
tui-state-finished = beendet

## The new-campaign wizard

tui-new-campaign = Neue Kampagne ·{" "}
tui-step-template = 1 Vorlage
tui-step-audience = 2 Zielgruppe
tui-step-plan = 3 Probelauf
tui-step-confirm = 4 Bestätigen
tui-planning = plane…
tui-nobody = niemand
tui-nobody-eligible = niemand empfangsberechtigt
tui-template-title = {" "}Vorlage{" "}
tui-template-none = Keine Vorlagen: legen Sie TOML-Dateien im Vorlagenverzeichnis ab.
tui-template-not-selectable = Nicht wählbar: Status { $status }; senden lassen sich nur APPROVED-Vorlagen.
tui-audience-title = {" "}Zielgruppe{" "}
tui-audience-live = {" "}Live-Zählung{" "}
tui-audience-template = Vorlage:{" "}
tui-audience-topic = Thema:{" "}
tui-audience-locale = Sprache
tui-audience-list = Liste (CSV-Pfad)
tui-audience-hint-topic = ←/→ wählt den Zweck der Kampagne; nur Einwilligungen dafür zählen (G6)
tui-audience-hint-locale = z. B. de (passt auch zu de_AT); leer: alle Sprachen
tui-audience-hint-list = eine CSV mit Telefonspalte, abgeglichen mit dem Speicher; leer: der ganze Speicher
tui-audience-enter = Enter: der vollständige Probelauf
tui-eligible-n = berechtigt { $n }
tui-of-n-excluded-m = {" "}von { $n } · ausgeschlossen { $m }
tui-plan-title = {" "}Probelauf{" "}
tui-plan-summary-title = {" "}Probelauf: { $name } ({ $language }, { $category }) · Thema { $topic }{ $locale }{" "}
tui-plan-locale = {" "}· Sprache { $locale }
tui-plan-eligible = Berechtigt { $n }
tui-plan-of = {" "}von { $n } ·{" "}
tui-plan-excluded = ausgeschlossen { $n }
tui-plan-cost = Kosten ≤ { $money } ({ $countries })
tui-plan-tier = Stufe:{" "}
tui-tier-all-now = alle { $now } jetzt ({ $used } von { $tier } in 24 h genutzt)
tui-tier-rest-after = { $now } jetzt, die übrigen { $later } nach { $at }
tui-tier-exceeds = { $now } jetzt; { $later } übersteigen die Stufe von { $tier } selbst an einem ruhigen Tag
tui-plan-reasons = {" "}Ausgeschlossen, nach Grund{" "}
tui-plan-nobody-excluded = niemand ausgeschlossen
tui-preview = {" "}Vorschau{" "}
tui-preview-n-of-m = {" "}Vorschau { $n } von { $m } · { $who }{" "}
tui-col-recipient = Empfänger
tui-col-line = Zeile
tui-col-reason = Grund
tui-eta = Rate ≤ { $rate }/s · Dauer { $sending }
tui-eta-not-within-a-day = nicht innerhalb eines Tages
tui-eta-quiet = Rate ≤ { $rate }/s · { $sending } Versand · { $held } warten wegen Ruhezeit bis { $until } · letzter Versand ≈ { $last }
tui-eta-held = Rate ≤ { $rate }/s · { $sending } Versand · letzter Versand ≈ { $last }
tui-template-not-approved = { $name } ist { $status }: senden lassen sich nur APPROVED-Vorlagen
tui-no-topics = keine Themen eingerichtet ([consent] topics)
tui-nobody-recent = niemand in dieser Zielgruppe hat die Vorlage kürzlich erhalten
tui-including-recent = kürzlich Beschickte werden einbezogen
tui-leaving-out-recent = kürzlich Beschickte bleiben ausgeschlossen
tui-dry-run-running = der Probelauf läuft noch
tui-nobody-may-receive = niemand in dieser Zielgruppe darf die Nachricht erhalten
tui-one-at-a-time = Kampagne { $id } sendet; eine Kampagne nach der anderen
tui-creating = lege die Kampagne an…
tui-starting = starte…
tui-confirm-title = {" "}Bestätigen{" "}
tui-confirm-template = Vorlage{" "}
tui-confirm-topic = {" "}· Thema { $topic } ·{" "}
tui-confirm-recipients = { $n } Empfänger
tui-confirm-cost = Kosten bis { $cost } · höchstens { $rate }/s · etwa { $eta }
tui-confirm-sandbox = SANDBOX: Nachrichten gehen an den lokalen Simulator; nichts verlässt diesen Rechner.
tui-confirm-send = {" "}senden{"   "}
tui-confirm-back = {" "}zurück
tui-confirm-live = LIVE: Es gehen { $n } echte WhatsApp-Nachrichten hinaus.
tui-confirm-type = { $n } eintippen und Enter zum Senden

## Recipient states

tui-rstate-pending = offen
tui-rstate-in-flight = unterwegs
tui-rstate-accepted = angenommen
tui-rstate-sent = gesendet
tui-rstate-delivered = zugestellt
tui-rstate-read = gelesen
tui-rstate-failed = fehlgeschlagen
tui-rstate-skipped = übersprungen
tui-rstate-unknown = unbekannt
tui-rstate-deferred = zurückgestellt

## The dashboard

tui-reading = lese…
tui-n-rows = { $n } Zeilen
tui-col-index = {"     "}#
tui-col-number = Nummer
tui-col-code = Code
tui-col-latency = {" "}Latenz
tui-col-note = Hinweis
tui-dash-none = Keine Kampagne läuft.
tui-dash-stopped-by-error = DURCH EINEN FEHLER GESTOPPT
tui-dash-paused = PAUSIERT
tui-dash-held = WARTET
tui-dash-slowed = SENDET (gebremst)
tui-dash-sending = SENDET
tui-dash-title = {" "}Kampagne { $id } · { $template } · Thema { $topic } ·{" "}
tui-dash-eta = Rest { $eta }
tui-dash-eta-none = Rest —
tui-dash-rate = { $rate }/s von { $ceiling }
tui-dash-observed = {" "}· gemessen { $observed }/s · { $eta } · seit { $elapsed } · { $workers } Worker{ $cost }
tui-dash-cost = {" "}· Kosten geschätzt { $estimated } / tatsächlich { $actual }
tui-dash-spark-title = {" "}Sendungen pro Sekunde · Obergrenze { $ceiling }{" "}
tui-dash-waiting = warte auf die erste Sekunde…
tui-dash-notices = {" "}Hinweise{" "}
tui-dash-notice-paused = PAUSIERT: { $reason } · r setzt fort
tui-dash-notice-held = WARTET bis { $until }: { $reason }
tui-dash-notice-slowed = gebremst auf { $rate }/s: { $reason }
tui-dash-done = fertig · Enter: Details und Export
tui-dash-all-states = alle Status
tui-dash-following = folgt
tui-dash-scrolled = gescrollt · End folgt
tui-dash-results-title = {" "}Ergebnisse, neueste zuerst · { $label } · { $rows } · { $follow }{" "}

## Campaign detail

tui-reading-journal = lese das Journal…
tui-col-attempts = Vers
tui-col-updated = Geändert
tui-one-campaign-at-a-time = eine Kampagne sendet; eine nach der anderen
tui-nothing-to-resume = Kampagne { $id } ist { $state }; nichts fortzusetzen
tui-no-unknown = kein Empfänger hat ein unbekanntes Ergebnis
tui-resend-title = { $n } Unbekannte erneut senden?
tui-resend-may-have = { $n } Empfänger haben die Nachricht vielleicht erhalten, vielleicht nicht
tui-resend-twice = (ein Absturz oder eine verlorene Antwort). Erneutes Senden kann sie doppelt zustellen.
tui-resend-never-unless = bote tut das nie ungefragt. Erneut senden?
tui-detail-exported = { $n } Zeilen exportiert nach { $path }
tui-detail-export-failed = Export fehlgeschlagen: { $error }
tui-export-title = Ergebnisse exportieren
tui-export-what = Eine Zeile je Empfänger von Kampagne { $id }, nur für den Eigentümer lesbar (0600).
tui-export-never-replaced = Eine vorhandene Datei wird nie ersetzt: wählen Sie einen anderen Namen.
tui-detail-meta = erstellt { $created } von { $by } · gestartet { $started } · beendet { $finished } · { $mode }
tui-detail-unknown = { $n } unbekannt: Webhooks klären sie vielleicht noch; u sendet sie erneut
tui-detail-title = {" "}Kampagne { $id } · { $template } ({ $language }) · Thema { $topic } · { $state }{" "}
tui-detail-funnel = {" "}Trichter{" "}
tui-detail-journal = {" "}Journal · Zeile { $n } von { $m }{" "}

## Consent import

tui-import-title = {" "}Einwilligungen importieren{" "}
tui-import-file = CSV-Datei
tui-import-done = Importiert:{" "}
tui-importing = importiere…
tui-import-esc = Esc: zurück zu den Einwilligungen
tui-import-hint = eine geprüfte Einwilligungsliste: phone, opted_in_at, opt_in_source, topics …; Enter importiert
tui-import-report = {" "}Bericht · { $file } · { $encoding } · '{ $delimiter }'{" "}
tui-import-imported = importiert { $n }
tui-import-updated = {" "}· aktualisiert { $updated } · unverändert { $unchanged } · offen { $pending } ·{" "}
tui-import-rejected = abgelehnt { $n }
tui-import-duplicates = {" "}· Dubletten { $duplicates } · Zeilen { $rows }
tui-import-unreadable = {" "}· unlesbar { $n }
tui-import-dropped = verworfene Spalten (nicht erklärt, G8): { $columns }
tui-import-rejected-rows = Abgelehnte Zeilen
tui-import-unreadable-rows = Unlesbare Zeilen (nicht importiert)
tui-import-notes = Hinweise
tui-import-more = … { $n } weitere: `bote consent import --rejects OUT` listet alle
tui-import-line = Zeile { $n }{"  "}

## Dashboard notices and the send's standing

tui-notice-slowed = gebremst auf { $rate }/s: { $reason }
tui-notice-back = wieder { $rate }/s
tui-notice-held = wartet: { $reason }
tui-notice-paused = pausiert: { $reason }
tui-notice-resumed = fortgesetzt
tui-notice-ended = Lauf beendet: { $state }
tui-notice-lagged = die Ansicht kam nicht nach; einige Hinweise fehlen (die Zahlen stimmen)
tui-notice-text = { $text }
tui-standing-skipped = , { $n } übersprungen
tui-standing-finished = { $attempted } von { $eligible } gesendet{ $skipped }
tui-standing-cancelled = { $attempted } von { $eligible } gesendet{ $skipped } (abgebrochen)
tui-standing-paused = { $done } von { $eligible } erledigt, { $open } offen (pausiert)
tui-standing-planned = { $eligible } zu senden (nicht gestartet)
tui-standing-sending = { $percent } % von { $eligible }

## Dialogs, the status line, the key overlay

tui-campaign-sending = Kampagne { $id } sendet
tui-another-sending = eine andere Kampagne sendet; eine nach der anderen
tui-nothing-to-pause = Kampagne { $id } ist { $state }: nichts zu pausieren
tui-nothing-to-cancel = Kampagne { $id } ist { $state }: nichts abzubrechen
tui-details-after-run = die Details öffnen sich, wenn der Lauf beendet ist
tui-pausing = pausiere: laufende Anfragen werden noch beendet
tui-cancel-title = Kampagne { $id } abbrechen?
tui-cancel-skipped = Alle noch nicht Beschickten ({ $n }) werden endgültig übersprungen.
tui-cancel-in-flight = Anfragen, die schon unterwegs sind, laufen zu Ende und werden erfasst.
tui-quit-title = Beenden, während gesendet wird?
tui-quit-goes-on = Die Kampagne sendet nach dem Beenden im bote-Daemon weiter;
tui-quit-watch = eine neue TUI oder `bote campaign watch ID` zeigt sie wieder.
tui-unknown-key = { $key } bewirkt hier nichts · ? zeigt die Tasten
tui-exporting = exportiere…
tui-keys-title = {" "}Tasten · jede Taste schließt{" "}
tui-keys-title-scroll = {" "}Tasten { $from }–{ $to } von { $of } · ↑↓ scrollt · andere Tasten schließen{" "}
tui-export-file = Datei
tui-export-masked = {" "}Nummern: bis auf die letzten 4 Ziffern maskiert
tui-export-full = {" "}Nummern: vollständig
tui-export-keys = Enter: schreiben   Esc: abbrechen
tui-modal-type = { $text } eintippen und Enter
tui-modal-esc-no = Esc: nein
tui-modal-yes = {" "}ja{"   "}
tui-modal-no = {" "}nein

## The consent browser's list

key-filter-contacts = Liste filtern
key-open-number = Nummer öffnen
tui-contacts-filter = Filter
tui-contacts-filter-hint = f: topic= status= source= locale= since=JJJJ-MM-TT before=JJJJ-MM-TT · Enter
tui-contacts-title = {" "}Kontakte · { $n } von { $total }{" "}
tui-col-locale = Spr.
tui-col-consents = Einwilligungen
tui-col-source = Quelle
tui-col-imported = Importiert
key-ack-topic = anderes Thema der Vorlage bestätigen
tui-ack-topic-first = die Vorlage ist für ein anderes Thema geschrieben: erst mit a bestätigen

## The CLI's dry run (campaign plan, and bote without arguments)

cli-plan-title = Probelauf: Vorlage { $template } ({ $language }, { $category }, { $status }) · Thema { $topic }{ $locale }{ $list }
cli-plan-locale = {" "}· Sprache { $locale }
cli-plan-list = {" "}· Liste { $list }
cli-plan-audience = Umfang
cli-plan-eligible = berechtigt
cli-plan-excluded = ausgeschlossen
cli-plan-excluded-sample = Ausgeschlossen (bis zu 10 je Grund):
cli-plan-line = Zeile { $n }{"  "}
cli-plan-previews = Vorschauen:
cli-plan-to = an { $who }
cli-plan-cost = Geschätzte Kosten: { $money } (je zugestellter Nachricht)
cli-plan-tier-all = Versandstufe: { $used } von { $tier } eindeutigen Empfängern der letzten 24 h genutzt; alle { $now } können jetzt raus
cli-plan-tier-split = Versandstufe: { $used } von { $tier } genutzt; { $now } jetzt, die übrigen { $later } nach { $when }
cli-plan-later-day = an einem späteren Tag (Kampagne teilen)
cli-plan-tier-from = {"  "}Stufe laut: { $source }
cli-plan-tier-config = Konfiguration ([api] messaging_tier)
cli-plan-not-in-a-day = nicht an einem Tag (Kampagne teilen)
cli-plan-time-quiet = Versanddauer: { $secs } s bei der Rate; { $held } warten wegen Ruhezeit bis { $until }; letzter Versand etwa { $finish }
cli-plan-time = Versanddauer: { $secs } s bei der Rate; letzter Versand etwa { $finish }
cli-plan-nothing-sent = Nichts wurde gesendet (Probelauf).
cli-plan-languages = {"  "}Sprachen der Berechtigten: { $languages } (die Vorlage ist { $template })
cli-plan-no-language = keine
