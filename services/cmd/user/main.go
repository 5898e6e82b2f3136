// Command user is the user service: register, login, JWTs, GET /me.
package main

import (
	"os"

	"shop/internal/app"
	"shop/internal/user"
)

func main() { os.Exit(app.Main("user", user.Build, app.Options{})) }
