module.exports.generateSql = () => "CREATE TABLE b (id int)"
