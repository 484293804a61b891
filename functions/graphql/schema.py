"""The AppSync schema as text, and the AppSync built-ins other GraphQL tools need to parse it.

AppSync defines its scalars and auth directives itself and refuses a schema that declares
them again, so the file leaves them out and :data:`APPSYNC_PRELUDE` supplies them to
graphql-core (tests, local tooling).
"""

from __future__ import annotations

from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")

APPSYNC_PRELUDE = """
scalar AWSDate
scalar AWSTime
scalar AWSDateTime
scalar AWSTimestamp
scalar AWSEmail
scalar AWSJSON
scalar AWSURL
scalar AWSPhone
scalar AWSIPAddress
directive @aws_api_key on FIELD_DEFINITION | OBJECT
directive @aws_iam on FIELD_DEFINITION | OBJECT
directive @aws_oidc on FIELD_DEFINITION | OBJECT
directive @aws_lambda on FIELD_DEFINITION | OBJECT
directive @aws_cognito_user_pools(cognito_groups: [String]) on FIELD_DEFINITION | OBJECT
directive @aws_auth(cognito_groups: [String]) on FIELD_DEFINITION
directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION
"""


def schema_text() -> str:
    """The schema exactly as it is uploaded to AppSync."""
    return SCHEMA_PATH.read_text(encoding="utf-8")


def schema_with_prelude() -> str:
    """The schema with AppSync's built-ins declared, for graphql-core."""
    return APPSYNC_PRELUDE + schema_text()
