-- depends: 0043_idempotency_keys
-- XML signatures of upstream CAP alerts (issue 18): each alert records whether its enveloped
-- XML-DSig signature verified against the certificates the operator trusts
-- (RISKMAP_CAP_TRUSTED_CERTS): 'verified', 'unverified' (no signature) or 'invalid' (a signature
-- that fails, or a signer not trusted), with the reason and, when verified, the signer. Rules
-- may require verified senders (upstream_cap_colour with require_verified: true).
-- Numbered 0044: 0043 is taken by another change; both depend on 0042.

ALTER TABLE cap_alert
    ADD COLUMN signature_status text NOT NULL DEFAULT 'unverified'
        CONSTRAINT cap_alert_signature_status
        CHECK (signature_status IN ('verified', 'unverified', 'invalid')),
    ADD COLUMN signature_reason text,
    ADD COLUMN signature_signer text,
    ADD CONSTRAINT cap_alert_signer_only_when_verified
        CHECK (signature_signer IS NULL OR signature_status = 'verified');

-- alerts loaded before signatures were checked: say so rather than claim they carry none
UPDATE cap_alert
SET signature_reason = 'not checked: loaded before signatures were verified (re-ingest to check)'
WHERE raw_xml LIKE '%http://www.w3.org/2000/09/xmldsig#%';
