# A real Rails app with Devise (Debian's Rails 6.1, Devise 4.8, Warden 1.2,
# bcrypt) whose users live in PostgreSQL, driven through Rack: it signs users
# in through Devise's own SessionsController and changes passwords with
# Devise's own `user.update(password: ...)`. Request on stdin:
#   {"database_url": "postgres://...", "schema": "<unique to the test>",
#    "secret": "<secret_key_base>", "name": "_app_session",
#    "id_type"?: "bigint" (default) | "uuid",
#    "steps": [
#      {"create": "<email>", "password": "..."},          # User.create!
#      {"login": "<email>", "password": "..."},           # POST /users/sign_in: a cookie
#      {"change_password": "<email>", "password": "..."}, # user.update(password:)
#      {"destroy": "<email>"},                            # user.destroy
#      {"visit": "<Cookie header>"},                      # GET /me: Devise's own verdict
#      {"member": "<email>", "document": "<title>"}       # Membership.create!
#    ]}
# The app and its schema (created when missing, with the users table of
# Devise's migration template) are set up first; the schema is left for the
# test to drop. `member` steps first create the app's own documents and
# memberships tables, as the migrations `rails generate model Document
# title:string` and `rails generate model Membership user:references
# document:references` write them (user_id and document_id bigint). Answer
# on stdout:
#   {"cookies": ["_app_session=.."], "visits": [200 | 401], "ids": {"<email>": id},
#    "documents": {"<title>": id}}
# The cookie store runs as under `load_defaults 7.0` (JSON cookies, the SHA256
# key generator, cookies with metadata).
require "json"
require "logger"
require "rails"
require "active_record/railtie"
require "action_controller/railtie"
require "devise"
require "devise/orm/active_record"
require "rack/mock"
require_relative "../rails/sha256_key_generator"

input = JSON.parse($stdin.read)
schema = input.fetch("schema")
raise ArgumentError, "schema must be an identifier" unless schema.match?(/\A[a-z_][a-z0-9_]*\z/)

class DeviseApp < Rails::Application
  config.load_defaults 6.1
  config.eager_load = false
  config.logger = Logger.new(ENV["DEVISE_WRITER_LOG"] ? $stderr : nil)
  config.active_record.logger = nil
  config.hosts.clear
  config.action_controller.allow_forgery_protection = false
  config.action_dispatch.cookies_serializer = :json
  config.action_dispatch.use_cookies_with_metadata = true
  # Loaded by initialize!, after User exists, so that Devise configures
  # Warden with the :user mapping (it does so once, when routes finalize).
  config.paths["config/routes.rb"] = [File.expand_path("routes.rb", __dir__)]

  # Rails 7.0's key generator (`key_generator_hash_digest_class` SHA256),
  # which 6.1 cannot be configured to use.
  def key_generator
    @sha256_key_generator ||= ActiveSupport::CachingKeyGenerator.new(
      Sha256KeyGenerator.new(secret_key_base, iterations: 1000)
    )
  end
end

DeviseApp.config.secret_key_base = input.fetch("secret")
DeviseApp.config.session_store :cookie_store, key: input.fetch("name", "_app_session")

Devise.setup do |config|
  config.mailer_sender = "app@example.test"
  config.stretches = 4 # bcrypt's lowest cost: the hash's format is the same
  config.navigational_formats = ["*/*", :html]
end

class User < ActiveRecord::Base
  devise :database_authenticatable
end

class Document < ActiveRecord::Base; end

class Membership < ActiveRecord::Base
  belongs_to :user
  belongs_to :document
end

class ApplicationController < ActionController::Base; end

# What the app shows a signed-in user; Devise refuses everyone else.
class MeController < ApplicationController
  before_action :authenticate_user!

  def show
    render plain: current_user.id.to_s
  end
end

# Active Record's connection, as a Rails app without config/database.yml
# takes it.
ENV["DATABASE_URL"] = "#{input.fetch("database_url")}?schema_search_path=#{schema}"
DeviseApp.initialize!
ActiveRecord::Migration.verbose = false
connection = ActiveRecord::Base.connection
connection.create_schema(schema) unless connection.schema_exists?(schema)
unless connection.table_exists?("users")
  ActiveRecord::Schema.define do
    id = input["id_type"] == "uuid" ? :uuid : :primary_key
    # Devise's migration template (database_authenticatable columns).
    create_table :users, id: id do |t|
      t.string :email, null: false, default: ""
      t.string :encrypted_password, null: false, default: ""
      t.timestamps null: false
    end
    add_index :users, :email, unique: true
  end
end

def create_membership_tables
  return if ActiveRecord::Base.connection.table_exists?("memberships")

  ActiveRecord::Schema.define do
    create_table :documents do |t|
      t.string :title
      t.timestamps
    end
    create_table :memberships do |t|
      t.references :user, null: false, foreign_key: true
      t.references :document, null: false, foreign_key: true
      t.timestamps
    end
  end
end

def session_cookie(headers, name)
  headers.fetch("Set-Cookie").split("\n").map { |l| l.split(";").first }
         .find { |c| c.start_with?("#{name}=") } or raise "no #{name} cookie set"
end

name = input.fetch("name", "_app_session")
app = Rack::MockRequest.new(DeviseApp)
out = { cookies: [], visits: [], ids: {}, documents: {} }
input.fetch("steps").each do |step|
  if (email = step["create"])
    out[:ids][email] = User.create!(email: email, password: step.fetch("password")).id
  elsif (email = step["login"])
    res = app.post("/users/sign_in", "HTTP_ACCEPT" => "text/html",
                   params: { user: { email: email, password: step.fetch("password") } })
    raise "sign-in of #{email} answered #{res.status}" unless res.status == 303 || res.status == 302
    out[:cookies] << session_cookie(res.headers, name)
  elsif (email = step["change_password"])
    User.find_by!(email: email).update!(password: step.fetch("password"))
  elsif (email = step["destroy"])
    User.find_by!(email: email).destroy!
  elsif (email = step["member"])
    create_membership_tables
    document = Document.find_or_create_by!(title: step.fetch("document"))
    Membership.create!(user: User.find_by!(email: email), document: document)
    out[:documents][document.title] = document.id
  elsif step.key?("visit")
    res = app.get("/me", "HTTP_ACCEPT" => "application/json", "HTTP_COOKIE" => step["visit"])
    out[:visits] << res.status
  else
    raise ArgumentError, "unknown step #{step}"
  end
end
puts JSON.generate(out)
