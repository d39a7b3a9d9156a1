-- Automation rules (touchline.automation.v1.Rule): one row per rule with what holds for all its
-- versions (paused, archived, which version is the latest and which published one runs), and
-- every version of every rule. Every key starts with tenant_id.

-- One row per rule. latest_version is the highest version; published_version the latest
-- version ever published (it runs unless the rule is paused or archived), NULL before the
-- first publish. Writes of a rule lock this row.
CREATE TABLE rules (
  tenant_id         text        NOT NULL,
  rule_id           uuid        NOT NULL,
  latest_version    integer     NOT NULL,
  published_version integer,
  -- PauseRule / ResumeRule: the flag and when it was last set and cleared (NULL: never).
  paused            boolean     NOT NULL DEFAULT false,
  paused_time       timestamptz,
  resume_time       timestamptz,
  -- ArchiveRule: every version is archived and the rule runs nothing any more.
  archived          boolean     NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, rule_id),
  CONSTRAINT rules_published_not_after_latest CHECK (published_version <= latest_version)
);
-- The engine's ListRunnable: the published version of every rule not archived, every tenant.
CREATE INDEX rules_runnable ON rules (tenant_id, rule_id, published_version)
  WHERE NOT archived AND published_version IS NOT NULL;

-- Every version of every rule. body is the Rule as stored (output-only fields included, but
-- for paused and etag, which reads fill in from rules.paused and revision); the columns repeat
-- what queries filter and sort on.
CREATE TABLE rule_versions (
  tenant_id    text        NOT NULL,
  rule_id      uuid        NOT NULL,
  version      integer     NOT NULL,
  -- The etag: 1 when the version is written first, one more with every write of it.
  revision     bigint      NOT NULL,
  -- touchline.automation.v1.RuleState numbers: 1 draft, 2 published, 3 archived.
  state        smallint    NOT NULL CHECK (state BETWEEN 1 AND 3),
  -- ListRules sorts the latest versions by it.
  display_name text        NOT NULL,
  body         bytea       NOT NULL,
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  -- Set once, when the version is published; kept when it is archived.
  publish_time timestamptz,
  PRIMARY KEY (tenant_id, rule_id, version),
  FOREIGN KEY (tenant_id, rule_id) REFERENCES rules (tenant_id, rule_id)
);
-- The latest version of a rule is (tenant_id, rule_id, rules.latest_version): the primary key.
-- ListRules: the latest versions by display name, Chinese by pinyin, then Latin.
CREATE INDEX rule_versions_by_name
  ON rule_versions (tenant_id, display_name COLLATE "zh-Hans-x-icu", rule_id, version);
