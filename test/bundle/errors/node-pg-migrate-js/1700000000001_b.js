exports.up = (pgm) => { pgm.createTable("b", { id: "id" }); };
