"""Campaign services: `planning` (audience, frozen variables, the flight plan), `execution`
(start, pause, resume, cancel, retry, the dispatcher), `progress` (counts, rate, ETA, results),
`rates` (the cost table), `hooks` (template status and quality reactions)."""
