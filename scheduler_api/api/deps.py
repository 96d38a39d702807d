"""FastAPI dependencies, as Annotated aliases so route signatures stay short."""

from typing import Annotated

from fastapi import Depends, Request

from scheduler_api.services.aws_service import AwsService


def get_aws_service(request: Request) -> AwsService:
    service: AwsService = request.app.state.aws_service
    return service


AwsServiceDep = Annotated[AwsService, Depends(get_aws_service)]
