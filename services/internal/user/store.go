package user

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"shop/internal/mysqldb"
)

// User is a stored account.
type User struct {
	ID           int64     `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	CreatedAt    time.Time `json:"created_at"`
	passwordHash []byte
}

// ErrEmailTaken means another account uses the address.
var ErrEmailTaken = errors.New("email already registered")

// ErrNotFound means no such user.
var ErrNotFound = errors.New("user not found")

// Store keeps users in MySQL.
type Store struct{ db *sql.DB }

// Create inserts a user.
func (s *Store) Create(ctx context.Context, email, name string, hash []byte) (User, error) {
	res, err := s.db.ExecContext(ctx, "INSERT INTO users (email, name, password_hash) VALUES (?, ?, ?)", email, name, hash)
	if mysqldb.IsDuplicate(err) {
		return User{}, ErrEmailTaken
	}
	if err != nil {
		return User{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return User{}, err
	}
	return s.ByID(ctx, id)
}

const userColumns = "SELECT id, email, name, password_hash, created_at FROM users "

func scan(row *sql.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.passwordHash, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

// ByEmail finds a user by (normalized) address.
func (s *Store) ByEmail(ctx context.Context, email string) (User, error) {
	return scan(s.db.QueryRowContext(ctx, userColumns+"WHERE email = ?", email))
}

// ByID finds a user by id.
func (s *Store) ByID(ctx context.Context, id int64) (User, error) {
	return scan(s.db.QueryRowContext(ctx, userColumns+"WHERE id = ?", id))
}
