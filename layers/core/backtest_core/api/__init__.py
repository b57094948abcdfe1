"""HTTP edge: Powertools resolvers, one router per Lambda function, errors mapped in one place."""
