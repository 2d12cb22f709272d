"""The Prefect layer: tasks over the stages' functions, the flows that compose them, the
local server, progress reporting and the schedules."""
