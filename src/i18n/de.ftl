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
