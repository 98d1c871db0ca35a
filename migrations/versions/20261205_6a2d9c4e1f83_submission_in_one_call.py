"""a submission without consent in one call (PostgreSQL)

`segmentti_submit` does what app/assessments/service.py's PostgreSQL path does for an
assessment that records no consent, as one autocommitted call instead of BEGIN, one or two
statements and COMMIT: the client claimed (created, or its row locked and its next number
taken) under the current keys, the assessment and its access-log row inserted, the
projections written — for a client created here, its one decision in force from when it took
effect; for a client found, derived from the timeline by a statement that begins after the
lock was had, and so sees every decision committed before it — and the client's consent
events returned for the response. Each round trip cost the service's process about 40 µs of
CPU (bench/round_trips.py), a write's largest cost left (issue 10).

The statements are the ones the service builds for the same work (`clients.claimed`,
`service._claimed_and_recorded`, `current._took_effect_in_one`, `consents.events_statement`);
tests/assessments/test_submit_in_one_call.py holds the two paths to the same rows. When the
keys are not current, nothing is written and no row returned: the caller claims as ever.

Revision ID: 6a2d9c4e1f83
Revises: 4b8e6f1d2c07
Create Date: 2026-12-05 06:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "6a2d9c4e1f83"
down_revision: str | None = "4b8e6f1d2c07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION segmentti_submit(
    p_tenant varchar,
    c_id uuid, c_identity_index varchar, c_identity_kind varchar, c_hetu_encrypted varchar,
    c_external_system varchar, c_external_value varchar, c_created_at timestamptz,
    c_created_by varchar, c_birth_date date, c_data_check varchar, c_index_check varchar,
    a_id uuid, a_model_id varchar, a_model_version varchar, a_answers jsonb, a_details jsonb,
    a_suggested_code integer, a_decided_code integer, a_override_reason varchar,
    a_explanation jsonb, a_warnings jsonb, a_attention boolean, a_effective_at timestamptz,
    a_recorded_at timestamptz, a_recorded_by varchar, a_discussed_with_client boolean,
    l_id uuid, l_at timestamptz, l_actor varchar, l_operation varchar, l_purpose varchar,
    l_outcome varchar
) RETURNS TABLE (
    client_id uuid, last_sequence integer, created boolean,
    event_id uuid, event_register_name varchar, event_given boolean, event_at timestamptz,
    event_recorded_at timestamptz, event_recorded_by varchar, event_source varchar,
    event_assessment_id uuid, event_change_tx bigint
)
LANGUAGE plpgsql VOLATILE
AS $function$
#variable_conflict use_column
DECLARE
    claimed_id uuid;
    claimed_sequence integer;
BEGIN
    -- The client, under the current keys only (locked FOR SHARE until the end, as
    -- keyring.current_keys_are explains).
    INSERT INTO client AS c (
        id, tenant, identity_index, identity_kind, hetu_encrypted, external_system,
        external_value, created_at, created_by, birth_date, last_sequence
    )
    SELECT c_id, p_tenant, c_identity_index, c_identity_kind, c_hetu_encrypted,
        c_external_system, c_external_value, c_created_at, c_created_by, c_birth_date, 1
    WHERE EXISTS (
            SELECT k.name FROM key_check AS k
            WHERE k.name = 'data_key' AND k.role = 'current' AND k.check_value = c_data_check
            FOR SHARE
        )
        AND EXISTS (
            SELECT k.name FROM key_check AS k
            WHERE k.name = 'index_key' AND k.role = 'current' AND k.check_value = c_index_check
            FOR SHARE
        )
    ON CONFLICT (tenant, identity_index) DO UPDATE SET last_sequence = c.last_sequence + 1
    RETURNING c.id, c.last_sequence INTO claimed_id, claimed_sequence;
    IF claimed_id IS NULL THEN
        RETURN;  -- keys not current: nothing written
    END IF;

    INSERT INTO assessment (
        id, tenant, client_id, sequence, model_id, model_version, answers, details,
        suggested_code, decided_code, override_reason, explanation, warnings, attention,
        effective_at, recorded_at, recorded_by, source, discussed_with_client, change_tx
    ) VALUES (
        a_id, p_tenant, claimed_id, claimed_sequence, a_model_id, a_model_version, a_answers,
        a_details, a_suggested_code, a_decided_code, a_override_reason, a_explanation,
        a_warnings, a_attention, a_effective_at, a_recorded_at, a_recorded_by, 'assessment',
        a_discussed_with_client, pg_current_xact_id()::text::bigint
    );
    INSERT INTO access_log (id, tenant, at, actor, client_id, operation, purpose, outcome)
    VALUES (l_id, p_tenant, l_at, l_actor, claimed_id, l_operation, l_purpose, l_outcome);

    IF claimed_id = c_id THEN
        -- Created here: its only decision, in force from when it took effect. No other can
        -- exist (another transaction waits on the new row's key until this one ends).
        INSERT INTO segment_now (
            client_id, tenant, assessment_id, model_id, model_version, decided_code, valid_from
        ) VALUES (
            claimed_id, p_tenant, a_id, a_model_id, a_model_version, a_decided_code,
            a_effective_at
        );
        INSERT INTO segment_span (
            assessment_id, tenant, client_id, model_id, model_version, decided_code,
            valid_from, valid_to
        ) VALUES (
            a_id, p_tenant, claimed_id, a_model_id, a_model_version, a_decided_code,
            a_effective_at, NULL
        );
        RETURN QUERY SELECT claimed_id, claimed_sequence, true,
            NULL::uuid, NULL::varchar, NULL::boolean, NULL::timestamptz, NULL::timestamptz,
            NULL::varchar, NULL::varchar, NULL::uuid, NULL::bigint;
        RETURN;
    END IF;

    -- Found: the client's spans cut again from its timeline (a back-dated decision ends
    -- another's early) and the segment in force moved, unless the one in force took effect
    -- later. This statement's snapshot is taken now, after the lock above.
    WITH spans AS (
        SELECT following.id AS assessment_id, following.tenant, following.client_id,
            following.model_id, following.model_version, following.decided_code,
            following.effective_at AS valid_from, following.valid_to
        FROM (
            SELECT a.id, a.tenant, a.client_id, a.model_id, a.model_version, a.decided_code,
                a.effective_at,
                lead(a.effective_at) OVER (
                    PARTITION BY a.client_id ORDER BY a.effective_at, a.sequence
                ) AS valid_to
            FROM assessment AS a
            WHERE NOT EXISTS (SELECT * FROM retraction AS r WHERE r.assessment_id = a.id)
                AND a.tenant = p_tenant AND a.client_id = claimed_id
        ) AS following
        WHERE following.valid_to IS NULL OR following.effective_at < following.valid_to
    ),
    gone AS (
        DELETE FROM segment_span AS s
        WHERE s.tenant = p_tenant AND s.client_id = claimed_id
            AND s.assessment_id NOT IN (SELECT spans.assessment_id FROM spans)
    ),
    moved AS (
        INSERT INTO segment_now AS n (
            client_id, tenant, assessment_id, model_id, model_version, decided_code, valid_from
        ) VALUES (
            claimed_id, p_tenant, a_id, a_model_id, a_model_version, a_decided_code,
            a_effective_at
        )
        ON CONFLICT ON CONSTRAINT pk_segment_now DO UPDATE SET
            tenant = excluded.tenant, assessment_id = excluded.assessment_id,
            model_id = excluded.model_id, model_version = excluded.model_version,
            decided_code = excluded.decided_code, valid_from = excluded.valid_from
        WHERE n.valid_from <= excluded.valid_from
    )
    INSERT INTO segment_span AS s (
        assessment_id, tenant, client_id, model_id, model_version, decided_code, valid_from,
        valid_to
    )
    SELECT spans.assessment_id, spans.tenant, spans.client_id, spans.model_id,
        spans.model_version, spans.decided_code, spans.valid_from, spans.valid_to
    FROM spans
    ON CONFLICT ON CONSTRAINT pk_segment_span DO UPDATE SET
        tenant = excluded.tenant, client_id = excluded.client_id, model_id = excluded.model_id,
        model_version = excluded.model_version, decided_code = excluded.decided_code,
        valid_from = excluded.valid_from, valid_to = excluded.valid_to;

    RETURN QUERY SELECT claimed_id, claimed_sequence, false,
        e.id, e.register_name, e.given, e.at, e.recorded_at, e.recorded_by, e.source,
        e.assessment_id, e.change_tx
    FROM (SELECT 1) AS one
    LEFT JOIN consent_event AS e ON e.tenant = p_tenant AND e.client_id = claimed_id
    ORDER BY e.at, e.recorded_at;
END
$function$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION segmentti_submit")
