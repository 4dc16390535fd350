# The writer app's config/routes.rb (see write.rb).
DeviseApp.routes.draw do
  devise_for :users
  get "/me" => "me#show"
end
