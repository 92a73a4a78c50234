# CR alone ends a comment tooinvalid
