SELECT '${flyway:user}';
