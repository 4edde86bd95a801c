from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from portal.ratelimit import secret_failure_record

from images.services import robot_authenticate

ROBOT_SECRET_PREFIX = "rbt_"


class RobotBearerAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer rbt_…``: a CI robot attaching reports and SBOMs."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != b"bearer" or not header[1].startswith(ROBOT_SECRET_PREFIX.encode()):
            return None
        robot = robot_authenticate(header[1].decode(errors="replace"))
        if robot is None:
            secret_failure_record(request=request)
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked robot secret.")
        return robot, None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class RobotBearerScheme(OpenApiAuthenticationExtension):
    target_class = RobotBearerAuthentication
    name = "robotBearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A robot account's secret (rbt_…)."}
