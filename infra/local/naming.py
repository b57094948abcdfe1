"""Local physical names, URLs and ARNs of template resources (what !Ref / !GetAtt return).

A resource keeps the name its template sets (``TableName``, ``QueueName``, ...); otherwise
it is ``{stack}-{LogicalId}`` (buckets lower-cased), like CloudFormation without the
random suffix. Queue URLs use the emulator's endpoint, as moto builds them.
"""

from __future__ import annotations

from typing import Any

from infra.local.cfn import Resolver

ACCOUNT_ID = "123456789012"  # moto's default account
_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Serverless::StateMachine": "Name",
}


def register_physical_names(
    r: Resolver, resources: dict[str, Any], endpoint: str, region: str, stack: str
) -> None:
    """Fill ``r.refs``/``r.attrs`` with local names, URLs and ARNs of every resource."""
    for lid, res in resources.items():
        rtype = res.get("Type", "")
        props = res.get("Properties") or {}
        prop = _NAME_PROPERTY.get(rtype)
        name = r.resolve(props[prop]) if prop and prop in props else f"{stack}-{lid}"
        if rtype == "AWS::SQS::Queue" and r.resolve(props.get("FifoQueue", False)):
            name = name if name.endswith(".fifo") else f"{name}.fifo"
        if rtype == "AWS::S3::Bucket":
            name = name.lower()
        arn_service = {"AWS::DynamoDB::Table": "dynamodb", "AWS::SQS::Queue": "sqs"}.get(rtype)
        if rtype == "AWS::SQS::Queue":
            arn = f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}"
            r.refs[lid] = f"{endpoint}/{ACCOUNT_ID}/{name}"
            r.attrs.update({(lid, "Arn"): arn, (lid, "QueueName"): name, (lid, "QueueUrl"): r.refs[lid]})
        elif arn_service == "dynamodb":
            r.refs[lid] = name
            r.attrs[(lid, "Arn")] = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}"
            r.attrs[(lid, "StreamArn")] = f"{r.attrs[(lid, 'Arn')]}/stream/local"
        elif rtype == "AWS::S3::Bucket":
            r.refs[lid] = name
            r.attrs[(lid, "Arn")] = f"arn:aws:s3:::{name}"
            r.attrs[(lid, "DomainName")] = f"{name}.s3.amazonaws.com"
            r.attrs[(lid, "RegionalDomainName")] = f"{name}.s3.{region}.amazonaws.com"
        elif rtype == "AWS::Serverless::Function":
            r.refs[lid] = name
            r.attrs[(lid, "Arn")] = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
        elif rtype == "AWS::Serverless::StateMachine":  # !Ref is the ARN, as on AWS
            r.refs[lid] = f"arn:aws:states:{region}:{ACCOUNT_ID}:stateMachine:{name}"
            r.attrs.update({(lid, "Arn"): r.refs[lid], (lid, "Name"): name})
        else:  # layers, APIs, alarms, dashboards...: a stable placeholder is enough locally
            r.refs[lid] = f"{stack}-{lid}".lower() if rtype.endswith("HttpApi") else lid
            r.attrs[(lid, "Arn")] = f"arn:aws:local:{region}:{ACCOUNT_ID}:{lid}"
