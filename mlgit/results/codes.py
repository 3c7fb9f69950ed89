"""The catalogue of finding codes: every code a check can yield is declared here once, with what it means.

Codes are stable (CI annotations, `--json` consumers and `accepted_breaking:` entries match on them), so a
code is never renamed; the README's code table is generated from this catalogue (tests/results).
"""

from __future__ import annotations

from enum import Enum


class Code(str, Enum):
    """A finding's stable dotted code; its value is what users see."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @property
    def family(self) -> str:
        """The check family: the part before the first dot (`data`, `schema`, `model`, ...)."""
        return str(self.value).split(".", 1)[0]

    # -- data: columns and values (the schema file and expectations) --
    DATA_MISSING_COLUMN = "data.missing-column"
    DATA_UNEXPECTED_COLUMN = "data.unexpected-column"
    DATA_TYPE_MISMATCH = "data.type-mismatch"
    DATA_NULLS = "data.nulls"
    DATA_NULL_FRACTION = "data.null-fraction"
    DATA_OUT_OF_RANGE = "data.out-of-range"
    DATA_UNEXPECTED_VALUE = "data.unexpected-value"
    DATA_REGEX_MISMATCH = "data.regex-mismatch"
    DATA_NOT_UNIQUE = "data.not-unique"
    DATA_NON_FINITE = "data.non-finite"
    DATA_ROW_COUNT = "data.row-count"
    DATA_MEAN_OUT_OF_BAND = "data.mean-out-of-band"
    DATA_STD_OUT_OF_BAND = "data.std-out-of-band"
    # -- data: reading the files --
    DATA_EMPTY_FILE = "data.empty-file"
    DATA_NO_ROWS = "data.no-rows"
    DATA_TRUNCATED = "data.truncated"
    DATA_WRONG_DELIMITER = "data.wrong-delimiter"
    DATA_ENCODING = "data.encoding"
    DATA_NOT_TEXT = "data.not-text"
    DATA_NOT_PARQUET = "data.not-parquet"
    DATA_DUPLICATE_COLUMN = "data.duplicate-column"
    DATA_UNNAMED_COLUMN = "data.unnamed-column"
    DATA_LINE_TOO_LONG = "data.line-too-long"
    DATA_PARTS_DISAGREE = "data.parts-disagree"
    DATA_UNREADABLE = "data.unreadable"
    DATA_OUT_OF_MEMORY = "data.out-of-memory"
    DATA_NO_FILES = "data.no-files"
    DATA_MIXED_FORMATS = "data.mixed-formats"
    DATA_UNKNOWN_FORMAT = "data.unknown-format"
    DATA_NOT_PULLED = "data.not-pulled"
    DATA_MISSING = "data.missing"
    # -- data: schema files, expectations, profiles and drift --
    DATA_NO_SCHEMA = "data.no-schema"
    DATA_INVALID_SCHEMA = "data.invalid-schema"
    DATA_INVALID_EXPECTATION = "data.invalid-expectation"
    DATA_DRIFT = "data.drift"
    DATA_DRIFT_DETECTED = "data.drift-detected"
    DATA_DATASET_DRIFT = "data.dataset-drift"
    DATA_PROFILE_UPDATED = "data.profile-updated"
    DATA_PROFILE_NOT_WRITTEN = "data.profile-not-written"
    DATA_PROFILE_STALE = "data.profile-stale"
    DATA_DRIFT_NO_BASELINE = "data.drift-no-baseline"
    DATA_BASE_PROFILE_STALE = "data.base-profile-stale"
    DATA_DRIFT_SKIPPED = "data.drift-skipped"
    # -- schema: changes of a schema file against the base --
    SCHEMA_MISSING = "schema.missing"
    SCHEMA_NONE = "schema.none"
    SCHEMA_INVALID = "schema.invalid"
    SCHEMA_BASE_INVALID = "schema.base-invalid"
    SCHEMA_NEW = "schema.new"
    SCHEMA_DATA_NOT_COMPARED = "schema.data-not-compared"
    SCHEMA_ACCEPTANCE_UNUSED = "schema.acceptance-unused"
    SCHEMA_COLUMN_REMOVED = "schema.column-removed"
    SCHEMA_COLUMN_ADDED = "schema.column-added"
    SCHEMA_TYPE_CHANGED = "schema.type-changed"
    SCHEMA_TYPE_WIDENED = "schema.type-widened"
    SCHEMA_VALUES_REMOVED = "schema.values-removed"
    SCHEMA_VALUES_ADDED = "schema.values-added"
    SCHEMA_VALUES_RESTRICTED = "schema.values-restricted"
    SCHEMA_VALUES_UNRESTRICTED = "schema.values-unrestricted"
    SCHEMA_NULLS_ALLOWED = "schema.nulls-allowed"
    SCHEMA_NULLS_FORBIDDEN = "schema.nulls-forbidden"
    SCHEMA_NULL_FRACTION_CHANGED = "schema.null-fraction-changed"
    SCHEMA_RANGE_WIDENED = "schema.range-widened"
    SCHEMA_RANGE_NARROWED = "schema.range-narrowed"
    SCHEMA_UNIQUE_DROPPED = "schema.unique-dropped"
    SCHEMA_UNIQUE_ADDED = "schema.unique-added"
    SCHEMA_REGEX_CHANGED = "schema.regex-changed"
    SCHEMA_FINITE_CHANGED = "schema.finite-changed"
    SCHEMA_ROWS_CHANGED = "schema.rows-changed"
    # -- model: pipeline and the promotion gate --
    MODEL_UNCHANGED = "model.unchanged"
    MODEL_PIPELINE_UNKNOWN = "model.pipeline-unknown"
    MODEL_PIPELINE_STALE = "model.pipeline-stale"
    MODEL_METRICS_MISSING = "model.metrics-missing"
    MODEL_BASELINE = "model.baseline"
    MODEL_RULE_PASSED = "model.rule-passed"
    MODEL_METRIC_MISSING = "model.metric-missing"
    MODEL_METRIC_MISSING_BASELINE = "model.metric-missing-baseline"
    MODEL_METRIC_NOT_NUMERIC = "model.metric-not-numeric"
    MODEL_METRIC_BELOW_MIN = "model.metric-below-min"
    MODEL_METRIC_ABOVE_MAX = "model.metric-above-max"
    MODEL_METRIC_REGRESSED = "model.metric-regressed"
    MODEL_METRIC_NOT_IMPROVED = "model.metric-not-improved"
    MODEL_SLICE_MISSING = "model.slice-missing"
    MODEL_SLICE_NEW = "model.slice-new"
    MODEL_GATE_ERROR = "model.gate-error"
    # -- model: the artifact --
    MODEL_ARTIFACT_MISSING = "model.artifact-missing"
    MODEL_ARTIFACT_SIZE = "model.artifact-size"
    MODEL_ARTIFACT_TOO_LARGE = "model.artifact-too-large"
    MODEL_UNTRUSTED_PICKLE = "model.untrusted-pickle"
    MODEL_UNTRUSTED_TYPES = "model.untrusted-types"
    MODEL_UNTRUSTED_SETTINGS = "model.untrusted-settings"
    MODEL_LOADER_MISSING = "model.loader-missing"
    MODEL_LOADER_UNKNOWN = "model.loader-unknown"
    MODEL_LOAD_FAILED = "model.load-failed"
    MODEL_LOADS = "model.loads"
    MODEL_GOLDEN_MISSING = "model.golden-missing"
    MODEL_GOLDEN_INVALID = "model.golden-invalid"
    MODEL_PREDICT_FAILED = "model.predict-failed"
    MODEL_PREDICTS = "model.predicts"
    MODEL_OUTPUT_SHAPE = "model.output-shape"
    MODEL_OUTPUT_TYPE = "model.output-type"
    MODEL_OUTPUT_RANGE = "model.output-range"
    MODEL_NONDETERMINISTIC = "model.nondeterministic"
    MODEL_LATENCY = "model.latency"
    MODEL_TOO_SLOW = "model.too-slow"
    # -- package: `mlgit check package`, a bundle installed offline and served --
    PACKAGE_INTEGRITY = "package.integrity"
    PACKAGE_DIGEST_MISMATCH = "package.digest-mismatch"
    PACKAGE_OFFLINE = "package.offline"
    PACKAGE_INSTALL_FAILED = "package.install-failed"
    PACKAGE_START_FAILED = "package.start-failed"
    PACKAGE_METADATA_MISMATCH = "package.metadata-mismatch"
    PACKAGE_GOLDEN_MISMATCH = "package.golden-mismatch"
    PACKAGE_GOLDEN_MATCH = "package.golden-match"
    PACKAGE_TIMINGS = "package.timings"
    PACKAGE_START_OVER_BUDGET = "package.start-over-budget"
    PACKAGE_LATENCY_OVER_BUDGET = "package.latency-over-budget"
    PACKAGE_MEMORY_OVER_BUDGET = "package.memory-over-budget"
    PACKAGE_STOP_FAILED = "package.stop-failed"
    # -- the report and `mlgit check` themselves --
    PIPELINE_STALE = "pipeline.stale"
    PIPELINE_STATUS_UNKNOWN = "pipeline.status-unknown"
    REPORT_DATA_NOT_RUN = "report.data-not-run"
    REPORT_SCHEMA_NOT_RUN = "report.schema-not-run"
    REPORT_MODEL_NOT_RUN = "report.model-not-run"
    CHECK_BASE = "check.base"
    # -- monitor: production traffic against the release --
    MONITOR_WINDOW = "monitor.window"
    MONITOR_MALFORMED = "monitor.malformed-records"
    MONITOR_SKIPPED = "monitor.records-skipped"
    MONITOR_NO_TRAFFIC = "monitor.no-traffic"
    MONITOR_VOLUME = "monitor.volume"
    MONITOR_VOLUME_ANOMALY = "monitor.volume-anomaly"
    MONITOR_DRIFT = "monitor.drift"
    MONITOR_INPUT_DRIFT = "monitor.input-drift"
    MONITOR_PREDICTION_DRIFT = "monitor.prediction-drift"
    MONITOR_NO_PREDICTION_REFERENCE = "monitor.no-prediction-reference"
    MONITOR_SCHEMA_VIOLATION = "monitor.schema-violation"
    MONITOR_LATENCY = "monitor.latency"
    MONITOR_LATENCY_OVER_BUDGET = "monitor.latency-over-budget"
    MONITOR_ERROR_RATE = "monitor.error-rate"
    MONITOR_ERROR_RATE_HIGH = "monitor.error-rate-high"
    MONITOR_QUALITY = "monitor.quality"
    MONITOR_QUALITY_DEGRADED = "monitor.quality-degraded"
    MONITOR_LABELS_UNMATCHED = "monitor.labels-unmatched"
    # -- repro: re-running the pipeline --
    REPRO_IDENTICAL = "repro.identical"
    REPRO_WITHIN_TOLERANCE = "repro.within-tolerance"
    REPRO_NOT_REPRODUCIBLE = "repro.not-reproducible"
    REPRO_FAILED = "repro.failed"
    REPRO_VERDICT = "repro.verdict"


MEANING: dict[Code, str] = {
    Code.DATA_MISSING_COLUMN: "a declared column is absent",
    Code.DATA_UNEXPECTED_COLUMN: "an undeclared column is present",
    Code.DATA_TYPE_MISMATCH: "values that do not read as the declared type, or a Parquet column stored as another type",
    Code.DATA_NULLS: "nulls in a `nullable: false` column",
    Code.DATA_NULL_FRACTION: "more nulls than `max_null_fraction`",
    Code.DATA_OUT_OF_RANGE: "a value outside `min`/`max` or `between`",
    Code.DATA_UNEXPECTED_VALUE: "a value not in `values`/`in_set` (an unseen category)",
    Code.DATA_REGEX_MISMATCH: "a value not matching `regex`",
    Code.DATA_NOT_UNIQUE: "repeated values in a unique column",
    Code.DATA_NON_FINITE: "NaN or ±inf in a float column (allow with `finite: false`)",
    Code.DATA_ROW_COUNT: "the row count is outside `rows` / `rows_between`",
    Code.DATA_MEAN_OUT_OF_BAND: "a column's mean is outside `mean_between`",
    Code.DATA_STD_OUT_OF_BAND: "a column's standard deviation is outside `std_between`",
    Code.DATA_EMPTY_FILE: "the file is empty",
    Code.DATA_NO_ROWS: "the file has a header but no rows",
    Code.DATA_TRUNCATED: "the file ends in the middle of a row or record",
    Code.DATA_WRONG_DELIMITER: "the CSV file uses another delimiter than the one declared",
    Code.DATA_ENCODING: "the file is not UTF-8 (names the line)",
    Code.DATA_NOT_TEXT: "a text format holds binary data",
    Code.DATA_NOT_PARQUET: "a `.parquet` file that is not Parquet",
    Code.DATA_DUPLICATE_COLUMN: "two columns share a name",
    Code.DATA_UNNAMED_COLUMN: "a column without a name (an empty CSV header cell, an empty JSON key)",
    Code.DATA_LINE_TOO_LONG: "a line longer than the reader accepts",
    Code.DATA_PARTS_DISAGREE: "the part files of a folder dataset have different columns",
    Code.DATA_UNREADABLE: "the file cannot be read",
    Code.DATA_OUT_OF_MEMORY: "reading the file ran out of memory",
    Code.DATA_NO_FILES: "a folder dataset without part files",
    Code.DATA_MIXED_FORMATS: "a folder dataset whose part files have different formats",
    Code.DATA_UNKNOWN_FORMAT: "the format cannot be told from the path (set `format:`)",
    Code.DATA_NOT_PULLED: "a DVC-tracked file that is not in the work tree (hint: `dvc pull`)",
    Code.DATA_MISSING: "a dataset path that does not exist",
    Code.DATA_NO_SCHEMA: "the dataset has no schema file (run `mlgit schema infer`)",
    Code.DATA_INVALID_SCHEMA: "the schema file is invalid (file:line)",
    Code.DATA_INVALID_EXPECTATION: "an expectation that does not fit its column",
    Code.DATA_DRIFT: "drift of one column against the base profile (always reported, with the value)",
    Code.DATA_DRIFT_DETECTED: "a column drifted past its threshold",
    Code.DATA_DATASET_DRIFT: "more columns drifted than `max_drifted_fraction`",
    Code.DATA_PROFILE_UPDATED: "the profile was rewritten by `check data --update-profile` (commit it)",
    Code.DATA_PROFILE_NOT_WRITTEN: "the profile could not be written",
    Code.DATA_PROFILE_STALE: "the profile beside the schema does not describe the data (run `check data --update-profile`)",
    Code.DATA_DRIFT_NO_BASELINE: "no profile at the base to measure drift against",
    Code.DATA_BASE_PROFILE_STALE: "the base's profile describes other data than the base's dataset",
    Code.DATA_DRIFT_SKIPPED: "no base revision to compare with",
    Code.SCHEMA_MISSING: "a dataset's schema file is missing",
    Code.SCHEMA_NONE: "no datasets or schema files to compare",
    Code.SCHEMA_INVALID: "the schema file is invalid (file:line)",
    Code.SCHEMA_BASE_INVALID: "the base's schema file is invalid, so it is not compared",
    Code.SCHEMA_NEW: "the schema file is new (none at the base)",
    Code.SCHEMA_DATA_NOT_COMPARED: "the data's columns could not be compared with the schema",
    Code.SCHEMA_ACCEPTANCE_UNUSED: "an `accepted_breaking:` entry that matches no change",
    Code.SCHEMA_COLUMN_REMOVED: "a column was removed (breaking)",
    Code.SCHEMA_COLUMN_ADDED: "a column was added",
    Code.SCHEMA_TYPE_CHANGED: "a column's type changed (breaking)",
    Code.SCHEMA_TYPE_WIDENED: "a column's type was widened (e.g. int -> float)",
    Code.SCHEMA_VALUES_REMOVED: "allowed values were removed (breaking)",
    Code.SCHEMA_VALUES_ADDED: "allowed values were added",
    Code.SCHEMA_VALUES_RESTRICTED: "a column's values are now restricted (breaking)",
    Code.SCHEMA_VALUES_UNRESTRICTED: "a column's values are no longer restricted",
    Code.SCHEMA_NULLS_ALLOWED: "a non-null column may now have nulls (breaking)",
    Code.SCHEMA_NULLS_FORBIDDEN: "nulls are no longer allowed",
    Code.SCHEMA_NULL_FRACTION_CHANGED: "`max_null_fraction` changed",
    Code.SCHEMA_RANGE_WIDENED: "a column's range was widened (breaking)",
    Code.SCHEMA_RANGE_NARROWED: "a column's range was narrowed",
    Code.SCHEMA_UNIQUE_DROPPED: "a column is no longer unique (breaking)",
    Code.SCHEMA_UNIQUE_ADDED: "a column is now unique",
    Code.SCHEMA_REGEX_CHANGED: "a column's regex changed",
    Code.SCHEMA_FINITE_CHANGED: "a column's `finite` setting changed",
    Code.SCHEMA_ROWS_CHANGED: "the row-count bounds changed",
    Code.MODEL_UNCHANGED: "the model's inputs did not change since its baseline: not evaluated",
    Code.MODEL_PIPELINE_UNKNOWN: "the pipeline's status could not be read (`dvc status` failed)",
    Code.MODEL_PIPELINE_STALE: "a stage feeding the model or its metrics no longer matches dvc.lock",
    Code.MODEL_METRICS_MISSING: "a declared metrics file is missing",
    Code.MODEL_BASELINE: "what the model is compared with",
    Code.MODEL_RULE_PASSED: "a gate rule that holds (with its values)",
    Code.MODEL_METRIC_MISSING: "a gated metric is missing from the candidate",
    Code.MODEL_METRIC_MISSING_BASELINE: (
        "a gated metric is missing from the baseline: a new gate, judged on its bounds alone"
    ),
    Code.MODEL_METRIC_NOT_NUMERIC: "a gated metric is not a number",
    Code.MODEL_METRIC_BELOW_MIN: "a gated metric is below its `min`",
    Code.MODEL_METRIC_ABOVE_MAX: "a gated metric is above its `max`",
    Code.MODEL_METRIC_REGRESSED: "a gated metric got worse by more than the allowed regression",
    Code.MODEL_METRIC_NOT_IMPROVED: "a gated metric improved by less than `min_improvement`",
    Code.MODEL_SLICE_MISSING: "a slice of the baseline is missing from the candidate",
    Code.MODEL_SLICE_NEW: "a new slice: only its bounds apply",
    Code.MODEL_GATE_ERROR: "the gate could not be evaluated",
    Code.MODEL_ARTIFACT_MISSING: "the model file is not in the work tree (hint: `dvc pull`)",
    Code.MODEL_ARTIFACT_SIZE: "the model file's size",
    Code.MODEL_ARTIFACT_TOO_LARGE: "the model file exceeds `max_size_mb`",
    Code.MODEL_UNTRUSTED_PICKLE: "a pickle/joblib file that mlgit will not unpickle (see Safe loading)",
    Code.MODEL_UNTRUSTED_TYPES: "a skops file that needs types not declared trusted",
    Code.MODEL_UNTRUSTED_SETTINGS: "trust or gate settings of the change that do not apply: they are read from the default branch",
    Code.MODEL_LOADER_MISSING: "the loader's package is not installed",
    Code.MODEL_LOADER_UNKNOWN: "no loader for the model file's format",
    Code.MODEL_LOAD_FAILED: "the model file does not load",
    Code.MODEL_LOADS: "the model file loads (and how)",
    Code.MODEL_GOLDEN_MISSING: "the golden input file is missing",
    Code.MODEL_GOLDEN_INVALID: "the golden input or output file is invalid",
    Code.MODEL_PREDICT_FAILED: "the model fails to predict on the golden input",
    Code.MODEL_PREDICTS: "the model predicts on the golden input",
    Code.MODEL_OUTPUT_SHAPE: "the prediction has another shape than the golden output",
    Code.MODEL_OUTPUT_TYPE: "the prediction has another type than the golden output",
    Code.MODEL_OUTPUT_RANGE: "predictions differ from the golden output or leave the declared range",
    Code.MODEL_NONDETERMINISTIC: "two calls on the same input give different outputs",
    Code.MODEL_LATENCY: "measured prediction latency (p50/p95)",
    Code.MODEL_TOO_SLOW: "prediction latency over its budget",
    Code.PACKAGE_INTEGRITY: "a bundle file is missing, added or changed against the manifest's sha256",
    Code.PACKAGE_DIGEST_MISMATCH: "the archive's sha256 differs from the digest recorded when it was packaged",
    Code.PACKAGE_OFFLINE: "how the bundle was installed offline (`unshare -n`, or `--no-index` alone)",
    Code.PACKAGE_INSTALL_FAILED: "the bundle does not install from its wheelhouse into a fresh virtualenv",
    Code.PACKAGE_START_FAILED: "the bundle's server exits or never says it is ready",
    Code.PACKAGE_METADATA_MISMATCH: "the served model metadata (name, version, digest) differs from the manifest",
    Code.PACKAGE_GOLDEN_MISMATCH: "the server's outputs on the golden input differ from the recorded ones",
    Code.PACKAGE_GOLDEN_MATCH: "the server's outputs on the golden input equal the recorded ones",
    Code.PACKAGE_TIMINGS: "measured spawn-to-ready, first request, p50/p95/p99 latency and peak RSS",
    Code.PACKAGE_START_OVER_BUDGET: "spawn-to-ready or first-request time over its budget",
    Code.PACKAGE_LATENCY_OVER_BUDGET: "served latency (p50/p95/p99) over its budget",
    Code.PACKAGE_MEMORY_OVER_BUDGET: "the server's peak RSS over its budget",
    Code.PACKAGE_STOP_FAILED: "the server does not drain and exit cleanly on SIGTERM",
    Code.PIPELINE_STALE: "the report's pipeline section: stages that no longer match dvc.lock",
    Code.PIPELINE_STATUS_UNKNOWN: "the report's pipeline section: `dvc status` could not run",
    Code.REPORT_DATA_NOT_RUN: "the report's data checks could not run (with the reason)",
    Code.REPORT_SCHEMA_NOT_RUN: "the report's schema checks could not run (with the reason)",
    Code.REPORT_MODEL_NOT_RUN: "the report's model checks could not run (with the reason)",
    Code.CHECK_BASE: "how `mlgit check --base` maps a model version onto the data's base",
    Code.MONITOR_WINDOW: "the window `mlgit monitor` profiled: release, span, requests, rows, and where it is stored",
    Code.MONITOR_MALFORMED: "log lines that are not requests (bad JSON, truncated, wrong types): counted and skipped",
    Code.MONITOR_SKIPPED: "requests left out of the window: outside `--window`, or served by another version",
    Code.MONITOR_NO_TRAFFIC: "the window holds fewer rows than `monitor.min_rows`",
    Code.MONITOR_VOLUME: "requests and rows per hour in the window, against the earlier windows' median",
    Code.MONITOR_VOLUME_ANOMALY: "the request rate is past `monitor.volume_factor` times (or below 1/factor of) the earlier windows' median",
    Code.MONITOR_DRIFT: "drift of one input or prediction column against the reference (always reported, with the value)",
    Code.MONITOR_INPUT_DRIFT: "an input column drifted past its threshold",
    Code.MONITOR_PREDICTION_DRIFT: "the predictions drifted past their threshold",
    Code.MONITOR_NO_PREDICTION_REFERENCE: "no earlier window of the release to measure prediction drift against",
    Code.MONITOR_SCHEMA_VIOLATION: "logged inputs that break the release's schema file (range, values, nulls, types, columns)",
    Code.MONITOR_LATENCY: "served latency p50/p95/p99 from the logs",
    Code.MONITOR_LATENCY_OVER_BUDGET: "served latency over `monitor.p95_ms` / `monitor.p99_ms`",
    Code.MONITOR_ERROR_RATE: "the share of requests answered with an error status",
    Code.MONITOR_ERROR_RATE_HIGH: "the error rate is over `monitor.max_error_rate`",
    Code.MONITOR_QUALITY: "model quality on the requests `--labels` joins by request id",
    Code.MONITOR_QUALITY_DEGRADED: "quality on labelled traffic is worse than the release's metric by more than its gate allows, beyond sampling noise",
    Code.MONITOR_LABELS_UNMATCHED: "labels whose request id is not in the window",
    Code.REPRO_IDENTICAL: "a pipeline output re-run by `mlgit check repro` has the md5 dvc.lock records",
    Code.REPRO_WITHIN_TOLERANCE: "an output's bytes differ, but the model's predictions on the golden inputs (or the gated metrics) agree within `policy.repro_tolerance`",
    Code.REPRO_NOT_REPRODUCIBLE: "an output differs from dvc.lock beyond tolerance (names the stage and the output)",
    Code.REPRO_FAILED: "`dvc repro` failed in the temporary worktree",
    Code.REPRO_VERDICT: "the reproducibility verdict: bit-identical, within tolerance, or not reproducible",
}


def markdown_table() -> str:
    """The README's code table, generated from the catalogue (a test keeps the README equal to it)."""
    rows = ["| code | what |", "| --- | --- |"]
    rows += [f"| `{code.value}` | {MEANING[code]} |" for code in Code]
    return "\n".join(rows) + "\n"
